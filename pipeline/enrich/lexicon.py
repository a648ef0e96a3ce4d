"""Word lists for recognising names the gazetteer does not know (pipeline.enrich.discover).

General English and world knowledge, not facts about any article: more given names than
``pipeline/data/first_names.txt`` (Europe, South and East Asia, Africa), place names that are
capitalised like organisations but are not ones ("Sweden said", "in Shenzhen"), and the nouns and
titles around organisation and person names ("a Shenzhen-based maker of", "spokesperson for X",
"X's chief executive").
"""

from __future__ import annotations

EXTRA_GIVEN_NAMES = frozenset(
 """Abdul Abdullah Adriana Agnes Ahmad Aidan Akira Alberto Aleksandr Alejandro Alessandro Alexis Alfred
 Alina Allison Alvaro Amir Amit Anand Anders Andre Andres Anil Anjali Ann-Marie Annette
 Anton Antoine Anupam Arjun Arnaud Arun Ashok Astrid Audrey Axel Ayesha Barry Beatrice Ben Benoit Bernd
 Bertrand Bianca Bjorn Blake Boris Brendan Bridget Brigitte Bruno Caitlin Cameron Camille Carla Carlo
 Carmen Carolyn Cecilia Celine Chad Chandra Chantal Chloe Christoph Christophe Cindy Clara Clare Clark
 Claude Clement Cody Connor Conor Cristina Curtis Dale Damian Daniele Darius Deepak Delphine Denis Denise
 Desmond Dev Devin Diego Dieter Dinesh Dirk Dominik Donna Dorothy Duncan Dylan Edgar Eduardo Elaine
 Eleanor Elias Elif Elisa Eliza Elliot Elsa Emil Emilia Emmanuel Enrico Enzo Erica Ernesto Esther Ethan
 Eugene Fatima Federico Felipe Fiona Florian Francesca Francesco Francis Francisco Francois
 Franz Frederic Frederick Gabriela Gabrielle Gareth Gautam Gavin Gemma Gerhard Gianluca Gillian Gina Giovanni
 Giulia Glenn Gordon Graham Guillaume Gunther Gustavo Hamid Hana Harold Harriet Harvey Hassan Hector
 Heidi Heinrich Helena Helmut Herbert Hideo Hilary Hiro Holly Howard Hugh Hugo Ibrahim Ignacio Ilya
 Imran Ingrid Irene Isaac Isabel Isabella Isabelle Jacqueline Jaime Jakub Jamal Janice Jasmine Jayne
 Jens Jeroen Jesse Jesus Ji Jia Jian Jie Jing Joachim Joanne Jodie Johan Johanna Jonas Josef Josephine
 Jun Jurgen Kamala Karim Karin Karl Kasia Katarina Katja Kayla Keir Kenji Kerry Kieran Krishna Kristina
 Kumar Lakshmi Lars Laurent Leila Lena Leon Leonard Leonardo Liam Lina Lindsay Lionel Lorenzo Lorraine Louise
 Luc Luca Lucia Ludwig Lukas Lynn Madeleine Magnus Mahmoud Malcolm Manuel Marc Marcel Marek Margot Mariana
 Marianne Marisa Marta Martha Martina Mateo Mathieu Matteo Matthias Maurice Maxim Maya Mehmet Melinda Mia
 Michal Michel Michele Milan Ming Miriam Mohamed Mohammad Molly Muhammad Nadia Naomi Naveen Neha Nell
 Niall Nicolas Niels Nigel Nikhil Nikola Nina Nora Norbert Olaf Ole Oscar Owen Pablo Paolo Parisa Pascal
 Patricia Patrice Pedro Penny Per Petra Philippe Pietro Piotr Pooja Prakash Pradeep Rafael Rajesh Rakesh
 Ravi Raymond Renata Rene Ricardo Riccardo Rina Rishi Roberta Rodrigo Roland Rolf Roman
 Rosa Rosie Rudolf Rui Rupert Russell Ryo Sabine Sabrina Sachin Sadiq Salman Sandeep Sanjay Santiago Sasha
 Satoshi Sebastian Seo Serena Sergio Shane Shannon Sheila Shirley Shu Silvia Simone Sofia Sonia Stanislav
 Stella Sunil Sunita Suresh Susanne Sven Sylvie Takeshi Tamara Tara Ted Terry Theo Theresa Thierry Thorsten
 Tobias Tomas Tommy Trevor Troy Uwe Valentina Vasily Vera Veronica Vijay Viktor Vinod Viola Vivek Walid Warren
 Werner Wilhelm Will Willem Wolfgang Xavier Yan Yasmin Yoshi Yu Yuki Yusuf Yves Zoe Zoltan""".split()
)

# places: countries (beyond the gazetteer's), regions, cities and U.S. states that a speech verb or an
# apposition may follow ("Sweden said", "Texas, the state's ...") without being an organisation
PLACES = frozenset(
    """Afghanistan Africa Alabama Alaska Albania Algeria America Americas Amsterdam Angola Antarctica
    Argentina Arizona Arkansas Armenia Asia Athens Atlanta Austin Austria Azerbaijan Bahrain Baltimore Bangalore
    Bangkok Bangladesh Barcelona Beijing Belarus Belgium Bengaluru Berlin Bern Bolivia Bosnia Boston Brazil
    Brussels Bucharest Budapest Bulgaria Cairo Calcutta California Cambodia Cameroon Canberra Caribbean
    Chennai Chicago Chile Chongqing Colombia Colorado Connecticut Copenhagen Croatia Cyprus Czechia Dallas
    Delaware Delhi Denmark Denver Detroit Dongguan Dubai Dublin Ecuador Edinburgh Egypt England Estonia
    Ethiopia Europe Finland Florida France Frankfurt Geneva Georgia Germany Ghana Glasgow Greece Guangdong
    Guangzhou Hamburg Hangzhou Hanoi Hawaii Helsinki Houston Hungary Iceland Idaho Illinois Indiana Indonesia
    Iowa Iraq Ireland Israel Istanbul Jakarta Japan Jordan Kansas Kazakhstan Kentucky Kenya Kyiv Kuwait Laos
    Latvia Lebanon Libya Lisbon Lithuania London Louisiana Luxembourg Lyon Madrid Maine Malaysia Malta
    Manchester Manila Maryland Massachusetts Melbourne Mexico Miami Michigan Milan Minnesota Mississippi
    Missouri Moldova Mongolia Montana Montenegro Montreal Morocco Moscow Mumbai Munich Myanmar Nairobi Nebraska
    Nepal Netherlands Nevada Nigeria Norway Ohio Oklahoma Oman Ontario Oregon Oslo Ottawa Pakistan Panama Paris
    Pennsylvania Peru Philippines Poland Portugal Prague Qatar Quebec Riga Riyadh Romania Rome Rotterdam
    Scotland Seattle Senegal Seoul Serbia Shanghai Shenzhen Singapore Slovakia Slovenia Somalia Spain Stockholm
    Sudan Suzhou Sweden Switzerland Sydney Syria Taipei Tallinn Tanzania Tennessee Texas Thailand
    Tianjin Tokyo Toronto Tunisia Turkey Uganda Ukraine Utah Vancouver Vermont Victoria Vienna Vietnam Virginia
    Wales Warsaw Washington Wellington Wisconsin Wuhan Wyoming Xinjiang Yemen Zambia Zimbabwe Zurich
    Aachen Abuja Accra Adelaide Ahmedabad Albuquerque Algiers Anchorage Ankara Antwerp Auckland Baghdad Baku
    Baltimore Basel Belfast Belgrade Birmingham Bologna Bonn Bordeaux Brisbane Bristol Bratislava Buffalo
    Calgary Cambridge Cardiff Charlotte Chengdu Cincinnati Cleveland Cologne Columbus Dhaka Doha Dresden
    Dusseldorf Edmonton Florence Fukuoka Fuzhou Gdansk Genoa Gothenburg Graz Halifax Hanover Harbin Havana
    Hiroshima Honolulu Hyderabad Indianapolis Islamabad Jerusalem Johannesburg Kabul Karachi Kolkata Krakow
    Kunming Kyoto Lagos Lahore Leipzig Lille Liverpool Lyons Macao Marseille Milwaukee Minsk Minneapolis
    Monaco Montevideo Nagoya Nanjing Naples Nashville Newcastle Ningbo Nuremberg Orlando Osaka Oxford Palermo
    Perth Philadelphia Phoenix Pittsburgh Porto Portland Potsdam Pyongyang Qingdao Quito Rabat Sacramento
    Salzburg Santiago Sapporo Seville Sheffield Stuttgart Tbilisi Tehran Tel Aviv Tirana Turin Valencia
    Venice Vilnius Winnipeg Wroclaw Xiamen Yokohama Zagreb Freiburg Koreas Caribbean Balkans Baltics Gulf
    Arctic Pacific Atlantic Mediterranean Midwest Siberia Crimea Donbas Gaza Kashmir Tibet Hokkaido Bavaria
    Catalonia Flanders Lombardy Normandy Provence Saxony Sichuan Yunnan Zhejiang Jiangsu Fujian Guangxi""".split()
)

# nouns that name what an organisation is ("carmaker BYD", "operators such as BT", "X, a ... maker")
ORG_NOUNS = frozenset(
    """company companies firm firms maker makers manufacturer manufacturers supplier suppliers provider providers
    startup startups start-up operator operators carrier carriers group groups retailer retailers brand brands
    platform platforms developer developers giant giants bank banks exchange exchanges insurer lender lenders
    chipmaker chipmakers automaker automakers carmaker carmakers producer producers vendor vendors subsidiary
    consultancy consultancies rival rivals competitor competitors broker brokers brokerage integrator integrators
    publisher publishers studio studios telco telcos utility utilities conglomerate distributor distributors
    airline airlines agency agencies organisation organization organisations organizations charity association
    regulator watchdog union outlet service services network networks institute university lab laboratory
    fund investor investors owner parent unit arm division affiliate business businesses merchants merchant
    outfit house leader""".split()
)
# products a company makes: "recent models from X", "equipment from X"
PRODUCT_NOUNS = frozenset(
    """model models product products phone phones smartphone smartphones handset handsets device devices drone drones
    camera cameras equipment gear chip chips software app apps service services kit router routers component
    components part parts module modules technology hardware system systems vehicle vehicles car cars offerings
    tools models""".split()
)
# nouns before "for/of/at X" that make X an organisation ("spokesperson for X", "analysts at X")
ORG_ROLE_BEFORE = frozenset(
    """spokesperson spokesman spokeswoman spokespeople representative representatives executive executives
    analyst analysts researcher researchers economist economists ceo founder cofounder co-founder chairman
    chairwoman president director engineers employees staff lawyer lawyers partner head owner shareholders
    shares investors customers subsidiary unit arm division affiliate parent""".split()
)
# "X's <word>": words after a possessive that make X an organisation
ORG_POSSESSED = frozenset(
    """chief ceo spokesperson spokesman spokeswoman founder cofounder co-founder shares stock board chairman
    chairwoman president executives subsidiary parent products headquarters sales revenue profit earnings
    engineers employees staff customers devices equipment software app platform website lawyers""".split()
)
# verbs after a name that make it an actor (an organisation or a person)
SPEECH_VERBS = frozenset(
    """said says told announced confirmed declined denied reported added argued acknowledged responded stated
    warned wrote noted insisted claimed estimated expects plans""".split()
)
# role words in an apposition after a person's name ("Wesley Wark, a senior fellow at ...")
PERSON_ROLES = frozenset(
    """chief head director president vice founder cofounder co-founder partner fellow professor minister secretary
    spokesperson spokesman spokeswoman analyst researcher senior deputy executive managing general chairman
    chairwoman chair lawyer attorney economist member leader owner author adviser advisor ceo cfo cto coo former
    governor senator mayor commissioner judge ambassador manager engineer scientist officer who""".split()
)
# left verbs whose object is usually an organisation ("owned by X", "subsidiary of X")
ORG_OBJECT_CUES = (
    ("owned", "by"), ("backed", "by"), ("acquired", "by"), ("made", "by"), ("developed", "by"),
    ("published", "by"), ("operated", "by"), ("run", "by"), ("bought", "by"), ("controlled", "by"),
    ("subsidiary", "of"), ("unit", "of"), ("arm", "of"), ("division", "of"), ("affiliate", "of"),
)
ORG_OBJECT_VERBS = frozenset({"supplies", "supplied", "acquired", "rivals", "outsold"})
LIST_INTRO = frozenset({"as", "like", "including", "include", "includes", "included"})
# news outlets are not entities of the story (the labelling guide leaves them out); compared lower-case
NEWS_OUTLETS = frozenset(n.strip().lower() for n in """
    Reuters, Bloomberg, AP, AFP, BBC, CNN, CNBC, NBC, CBS, ABC, NPR, PTI, ANI, IANS, Xinhua, TASS, Interfax,
    Yonhap, Kyodo, Haaretz, Politico, Axios, TechCrunch, Wired, Semafor, Nikkei, Caixin, Sputnik, RT,
    Kommersant, Vedomosti, Izvestia, Yomiuri, Asahi, Bild, Guardian, Telegraph, Forbes, The Verge,
    The Guardian, The Economist, Financial Times, Wall Street Journal, The Wall Street Journal,
    New York Times, The New York Times, Washington Post, The Washington Post, South China Morning Post,
    Global Times, Nikkei Asia, Sky News, Fox News, Al Jazeera, Associated Press, Agence France-Presse,
    Press Trust of India, Times of India, Hindustan Times, The Hindu, Economic Times, The Information,
    Le Monde, Der Spiegel, RIA Novosti, China Daily, Shanghai Daily, Daily Mail, The Times, ABC News,
    CBS News, NBC News, Business Insider, The Register, Light Reading, Fierce Wireless, Ars Technica,
    BleepingComputer, SecurityWeek, The Record, KCNA, Herald, The Herald, CNA, NHK, Kyodo News""".split(","))
