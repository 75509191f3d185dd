"""The fixed vocabulary of the Contoso Coffee demo: places, names, accounts, products, emails.

Plain data, shared by the demo seeder and the benchmark-scale seeder so both speak alike
(state "Texas", product "cold brew", email "concentrate-launch").
"""

from __future__ import annotations

from decimal import Decimal

SITE = "https://contoso-coffee.example"
DEMO_MARKER_ACCOUNT = "Contoso Coffee"
DEMO_SOURCE = "demo"

# Country -> (weight, language, phone prefix, [(state, weight, time zone, [cities])]).
PLACES: dict[str, tuple[int, str, str, list[tuple[str, int, str, list[str]]]]] = {
    "United States": (40, "en", "+1", [
        ("Texas", 28, "America/Chicago", ["Austin", "Houston", "Dallas", "San Antonio"]),
        ("North Dakota", 12, "America/Chicago", ["Fargo", "Bismarck", "Grand Forks"]),
        ("California", 18, "America/Los_Angeles", ["San Francisco", "Los Angeles", "San Diego"]),
        ("New York", 12, "America/New_York", ["New York", "Buffalo"]),
        ("Washington", 10, "America/Los_Angeles", ["Seattle", "Spokane"]),
        ("Illinois", 8, "America/Chicago", ["Chicago"]),
        ("Florida", 7, "America/New_York", ["Miami", "Orlando"]),
        ("Colorado", 5, "America/Denver", ["Denver", "Boulder"]),
    ]),
    "Sweden": (13, "sv", "+46", [
        ("Stockholm", 50, "Europe/Stockholm", ["Stockholm", "Solna"]),
        ("Västra Götaland", 30, "Europe/Stockholm", ["Gothenburg"]),
        ("Skåne", 20, "Europe/Stockholm", ["Malmö", "Lund"]),
    ]),
    "Germany": (11, "de", "+49", [
        ("Berlin", 40, "Europe/Berlin", ["Berlin"]),
        ("Bavaria", 35, "Europe/Berlin", ["Munich", "Nuremberg"]),
        ("Hamburg", 25, "Europe/Berlin", ["Hamburg"]),
    ]),
    "France": (9, "fr", "+33", [
        ("Île-de-France", 60, "Europe/Paris", ["Paris"]),
        ("Auvergne-Rhône-Alpes", 40, "Europe/Paris", ["Lyon", "Grenoble"]),
    ]),
    "United Kingdom": (10, "en", "+44", [
        ("England", 80, "Europe/London", ["London", "Manchester", "Bristol"]),
        ("Scotland", 20, "Europe/London", ["Edinburgh", "Glasgow"]),
    ]),
    "Canada": (9, "en", "+1", [
        ("Ontario", 50, "America/Toronto", ["Toronto", "Ottawa"]),
        ("Quebec", 30, "America/Toronto", ["Montreal", "Quebec City"]),
        ("British Columbia", 20, "America/Vancouver", ["Vancouver"]),
    ]),
    "Netherlands": (4, "nl", "+31", [
        ("North Holland", 100, "Europe/Amsterdam", ["Amsterdam", "Haarlem"]),
    ]),
    "Japan": (4, "ja", "+81", [
        ("Tokyo", 100, "Asia/Tokyo", ["Tokyo"]),
    ]),
}

# Names by language; ASCII so they make plausible email addresses.
FIRST_NAMES = {
    "en": ["Olivia", "Liam", "Emma", "Noah", "Ava", "James", "Mia", "Lucas", "Harper", "Ethan",
           "Grace", "Henry", "Chloe", "Jack", "Zoe", "Owen", "Ruby", "Leo", "Nora", "Sam"],
    "sv": ["Elsa", "Oskar", "Maja", "Erik", "Astrid", "Nils", "Ingrid", "Lars", "Saga", "Johan",
           "Freja", "Anders", "Linnea", "Gustav", "Ebba", "Karl"],
    "de": ["Lena", "Jonas", "Hannah", "Felix", "Leonie", "Lukas", "Marie", "Paul", "Anna", "Max",
           "Sophie", "Moritz"],
    "fr": ["Camille", "Hugo", "Chloe", "Louis", "Manon", "Jules", "Ines", "Arthur", "Lea", "Gabriel"],
    "nl": ["Sanne", "Daan", "Fleur", "Bram", "Lotte", "Sem"],
    "ja": ["Yui", "Haruto", "Aoi", "Sota", "Hina", "Ren"],
}
LAST_NAMES = {
    "en": ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Clark",
           "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Moore"],
    "sv": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
           "Svensson", "Gustafsson", "Lindqvist", "Berg"],
    "de": ["Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
           "Koch"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
           "Moreau"],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser"],
    "ja": ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"],
}
JOB_TITLES = ["Office Manager", "Facilities Manager", "Purchasing Manager", "Barista", "Cafe Owner",
              "Operations Director", "Head of Workplace", "Procurement Specialist", "CEO", "Marketing Lead",
              "Event Planner", "Executive Assistant", ""]

INDUSTRIES = ["Manufacturing", "Retail", "Hospitality", "Technology", "Finance", "Healthcare", "Education"]
# (name, industry, country, size); Contoso Coffee itself is the marker that the demo is seeded.
ACCOUNTS: list[tuple[str, str, str, str]] = [
    (DEMO_MARKER_ACCOUNT, "Hospitality", "United States", "medium"),
    ("Fabrikam Manufacturing", "Manufacturing", "United States", "large"),
    ("Tailspin Toys", "Manufacturing", "Germany", "medium"),
    ("Wingtip Industrial", "Manufacturing", "Sweden", "large"),
    ("Proseware Components", "Manufacturing", "Canada", "medium"),
    ("VanArsdel Motors", "Manufacturing", "United States", "enterprise"),
    ("Northwind Traders", "Retail", "United States", "large"),
    ("Wide World Importers", "Retail", "United Kingdom", "medium"),
    ("Best For You Organics", "Retail", "Canada", "small"),
    ("Southridge Market", "Retail", "France", "medium"),
    ("Alpine Ski House", "Hospitality", "France", "small"),
    ("Fourth Coffee", "Hospitality", "Sweden", "small"),
    ("Margie's Travel", "Hospitality", "United States", "small"),
    ("Coho Winery", "Hospitality", "United States", "small"),
    ("Litware", "Technology", "United States", "large"),
    ("Relecloud", "Technology", "Sweden", "medium"),
    ("Trey Research", "Technology", "Germany", "medium"),
    ("Adventure Works Cycles", "Technology", "Netherlands", "medium"),
    ("Woodgrove Bank", "Finance", "United Kingdom", "enterprise"),
    ("Humongous Insurance", "Finance", "United States", "large"),
    ("Lucerne Capital", "Finance", "Germany", "medium"),
    ("Lamna Healthcare", "Healthcare", "United States", "large"),
    ("Contoso Clinics", "Healthcare", "Canada", "medium"),
    ("Bellows College", "Education", "United States", "medium"),
    ("Graphic Design Institute", "Education", "Japan", "small"),
]
# Share of contacts who are consumers, with no account.
CONSUMER_SHARE = 0.3

# Product -> (weight in the basket, price range).
PRODUCTS: dict[str, tuple[int, tuple[Decimal, Decimal]]] = {
    "cold brew": (35, (Decimal("4.50"), Decimal("24.00"))),
    "cold brew concentrate": (20, (Decimal("14.99"), Decimal("29.98"))),
    "espresso beans": (30, (Decimal("11.50"), Decimal("18.00"))),
    "french press": (10, (Decimal("34.99"), Decimal("34.99"))),
}
COLD_BREW, CONCENTRATE = "cold brew", "cold brew concentrate"
CONCENTRATE_LAUNCHED_DAYS_AGO = 50

# Email campaigns: key -> (days ago it was sent, [links in it]).
EMAILS: dict[str, tuple[int, list[str]]] = {
    "summer-newsletter": (116, [f"{SITE}/blog/summer-recipes", f"{SITE}/shop/cold-brew"]),
    "cold-brew-season": (102, [f"{SITE}/shop/cold-brew", f"{SITE}/stores"]),
    "loyalty-welcome": (88, [f"{SITE}/loyalty", f"{SITE}/shop/espresso-beans"]),
    "masterclass-invite": (74, [f"{SITE}/events/cold-brew-masterclass", f"{SITE}/blog/brewing-guide"]),
    "concentrate-launch": (48, [f"{SITE}/shop/cold-brew-concentrate", f"{SITE}/blog/concentrate-recipes"]),
    "autumn-newsletter": (33, [f"{SITE}/blog/autumn-blends", f"{SITE}/shop/french-press"]),
    "office-coffee-offer": (19, [f"{SITE}/business", f"{SITE}/shop/espresso-beans"]),
    "holiday-preview": (5, [f"{SITE}/shop/gift-sets", f"{SITE}/shop/cold-brew-concentrate"]),
}
# The "specific email and specific link" of the North Dakota segment.
LAUNCH_EMAIL = "concentrate-launch"
LAUNCH_LINK = f"{SITE}/shop/cold-brew-concentrate"

PAGES = ["/", "/shop", "/shop/cold-brew", "/shop/cold-brew-concentrate", "/shop/espresso-beans",
         "/shop/french-press", "/loyalty", "/stores", "/business", "/events", "/blog/brewing-guide"]
FORMS = {"newsletter-signup": "/newsletter", "business-inquiry": "/business", "masterclass-registration":
         "/events/cold-brew-masterclass"}
EVENTS = {"Cold Brew Masterclass": 60, "Holiday Tasting Evening": 12}  # name -> days ago it happened

LEAD_TOPICS = ["Office coffee service", "Cold brew on tap", "Catering for events", "Wholesale beans",
               "Espresso machine lease"]
LEAD_SOURCES = ["web form", "event", "import", "referral"]
LOYALTY_TIERS = ["bronze", "silver", "gold"]
LEAD_COMPANIES = ["Blue Yonder Airlines", "City Power & Light", "Consolidated Messenger", "Fincher Architects",
                  "First Up Consultants", "Nod Publishers", "School of Fine Art", "The Phone Company",
                  "Munson's Pickles", "Liberty Bakery", "Olympia Sports", "A. Datum Corporation"]
CONSUMER_DOMAINS = ["mail.example", "post.example", "inbox.example", "fastmail.example"]
