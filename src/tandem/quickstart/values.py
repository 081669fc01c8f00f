"""Slot value pools of the embedded default corpus, aligned across languages, with a held-out test part.

Every pool is a list of canonical values; `render(pool, index, lang)` gives the written form in a language.
Entry i of a categorical pool means the same thing in every language (translation pairs stay exact).
Numeric pools (times, dates, durations, ...) are enumerated from ranges and rendered with each language's
usual written conventions, digits included, so that the spoken form has something to verbalise.

Held out: about a quarter of every pool (`value_split`) belongs to the test split; training and dev
requests never use those values.
"""

from __future__ import annotations

from functools import cache

from tandem.quickstart.templates import LANGS

HOLD_OUT_EVERY = 4

# ------------------------------------------------------------------------------------ categorical pools
# Each entry: one value, in LANGS order (en, de, fr, es, it, pt, hi).
_CATEGORICAL: dict[str, list[tuple[str, ...]]] = {
    "name": [
        ("Anna", "Anna", "Anna", "Anna", "Anna", "Anna", "अन्ना"),
        ("Marco", "Marco", "Marco", "Marco", "Marco", "Marco", "मार्को"),
        ("Sofia", "Sofia", "Sofia", "Sofia", "Sofia", "Sofia", "सोफ़िया"),
        ("Lucas", "Lucas", "Lucas", "Lucas", "Lucas", "Lucas", "लुकास"),
        ("Priya", "Priya", "Priya", "Priya", "Priya", "Priya", "प्रिया"),
        ("Ravi", "Ravi", "Ravi", "Ravi", "Ravi", "Ravi", "रवि"),
        ("Elena", "Elena", "Elena", "Elena", "Elena", "Elena", "एलेना"),
        ("Jonas", "Jonas", "Jonas", "Jonas", "Jonas", "Jonas", "योनास"),
        ("Clara", "Clara", "Clara", "Clara", "Clara", "Clara", "क्लारा"),
        ("Mateo", "Mateo", "Mateo", "Mateo", "Mateo", "Mateo", "माटेओ"),
        ("Giulia", "Giulia", "Giulia", "Giulia", "Giulia", "Giulia", "जूलिया"),
        ("Felix", "Felix", "Felix", "Felix", "Felix", "Felix", "फ़ेलिक्स"),
        ("Aisha", "Aisha", "Aisha", "Aisha", "Aisha", "Aisha", "आयशा"),
        ("Omar", "Omar", "Omar", "Omar", "Omar", "Omar", "उमर"),
        ("Nina", "Nina", "Nina", "Nina", "Nina", "Nina", "नीना"),
        ("Paul", "Paul", "Paul", "Paul", "Paul", "Paul", "पॉल"),
        ("Maya", "Maya", "Maya", "Maya", "Maya", "Maya", "माया"),
        ("Daniel", "Daniel", "Daniel", "Daniel", "Daniel", "Daniel", "डैनियल"),
        ("Laura", "Laura", "Laura", "Laura", "Laura", "Laura", "लॉरा"),
        ("Arjun", "Arjun", "Arjun", "Arjun", "Arjun", "Arjun", "अर्जुन"),
    ],
    # no city starts with a vowel, so French "de"/"à" never need elision
    "city": [
        ("London", "London", "Londres", "Londres", "Londra", "Londres", "लंदन"),
        ("Paris", "Paris", "Paris", "París", "Parigi", "Paris", "पेरिस"),
        ("Berlin", "Berlin", "Berlin", "Berlín", "Berlino", "Berlim", "बर्लिन"),
        ("Madrid", "Madrid", "Madrid", "Madrid", "Madrid", "Madri", "मैड्रिड"),
        ("Rome", "Rom", "Rome", "Roma", "Roma", "Roma", "रोम"),
        ("Lisbon", "Lissabon", "Lisbonne", "Lisboa", "Lisbona", "Lisboa", "लिस्बन"),
        ("Vienna", "Wien", "Vienne", "Viena", "Vienna", "Viena", "वियना"),
        ("Delhi", "Delhi", "Delhi", "Delhi", "Delhi", "Déli", "दिल्ली"),
        ("Mumbai", "Mumbai", "Mumbai", "Bombay", "Mumbai", "Mumbai", "मुंबई"),
        ("Tokyo", "Tokio", "Tokyo", "Tokio", "Tokyo", "Tóquio", "टोक्यो"),
        ("New York", "New York", "New York", "Nueva York", "New York", "Nova York", "न्यूयॉर्क"),
        ("Toronto", "Toronto", "Toronto", "Toronto", "Toronto", "Toronto", "टोरंटो"),
        ("Sydney", "Sydney", "Sydney", "Sídney", "Sydney", "Sydney", "सिडनी"),
        ("Munich", "München", "Munich", "Múnich", "Monaco di Baviera", "Munique", "म्यूनिख"),
        ("Milan", "Mailand", "Milan", "Milán", "Milano", "Milão", "मिलान"),
        ("Barcelona", "Barcelona", "Barcelone", "Barcelona", "Barcellona", "Barcelona", "बार्सिलोना"),
        ("Porto", "Porto", "Porto", "Oporto", "Porto", "Porto", "पोर्टो"),
        ("Prague", "Prag", "Prague", "Praga", "Praga", "Praga", "प्राग"),
        ("Dublin", "Dublin", "Dublin", "Dublín", "Dublino", "Dublin", "डबलिन"),
        ("Zurich", "Zürich", "Zurich", "Zúrich", "Zurigo", "Zurique", "ज़्यूरिख"),
    ],
    # French values carry the partitive article the templates need ("Ajoute du lait ...")
    "item": [
        ("milk", "Milch", "du lait", "leche", "latte", "leite", "दूध"),
        ("bread", "Brot", "du pain", "pan", "pane", "pão", "ब्रेड"),
        ("eggs", "Eier", "des œufs", "huevos", "uova", "ovos", "अंडे"),
        ("apples", "Äpfel", "des pommes", "manzanas", "mele", "maçãs", "सेब"),
        ("coffee", "Kaffee", "du café", "café", "caffè", "café", "कॉफ़ी"),
        ("rice", "Reis", "du riz", "arroz", "riso", "arroz", "चावल"),
        ("tomatoes", "Tomaten", "des tomates", "tomates", "pomodori", "tomates", "टमाटर"),
        ("cheese", "Käse", "du fromage", "queso", "formaggio", "queijo", "चीज़"),
        ("butter", "Butter", "du beurre", "mantequilla", "burro", "manteiga", "मक्खन"),
        ("bananas", "Bananen", "des bananes", "plátanos", "banane", "bananas", "केले"),
        ("sugar", "Zucker", "du sucre", "azúcar", "zucchero", "açúcar", "चीनी"),
        ("tea", "Tee", "du thé", "té", "tè", "chá", "चाय"),
        ("onions", "Zwiebeln", "des oignons", "cebollas", "cipolle", "cebolas", "प्याज़"),
        ("potatoes", "Kartoffeln", "des pommes de terre", "patatas", "patate", "batatas", "आलू"),
        ("yogurt", "Joghurt", "des yaourts", "yogur", "yogurt", "iogurte", "दही"),
        ("oranges", "Orangen", "des oranges", "naranjas", "arance", "laranjas", "संतरे"),
        ("pasta", "Nudeln", "des pâtes", "pasta", "pasta", "macarrão", "पास्ता"),
        ("salt", "Salz", "du sel", "sal", "sale", "sal", "नमक"),
        ("chicken", "Hähnchen", "du poulet", "pollo", "pollo", "frango", "चिकन"),
        ("carrots", "Karotten", "des carottes", "zanahorias", "carote", "cenouras", "गाजर"),
    ],
    # German rooms are all neuter or masculine ("im ..."), Portuguese all masculine ("no ..."); French and
    # Spanish values carry their article, Italian ones take none ("in cucina")
    "room": [
        ("bedroom", "Schlafzimmer", "la chambre", "el dormitorio", "camera da letto", "quarto", "बेडरूम"),
        ("bathroom", "Badezimmer", "la salle de bain", "el baño", "bagno", "banheiro", "बाथरूम"),
        ("office", "Büro", "le bureau", "el despacho", "studio", "escritório", "ऑफ़िस"),
        ("hallway", "Flur", "le couloir", "el pasillo", "corridoio", "corredor", "हॉलवे"),
        ("basement", "Keller", "la cave", "el sótano", "cantina", "porão", "बेसमेंट"),
        ("garden", "Garten", "le jardin", "el jardín", "giardino", "jardim", "गार्डन"),
        (
            "children's room",
            "Kinderzimmer",
            "la chambre des enfants",
            "el cuarto de los niños",
            "cameretta",
            "quarto das crianças",
            "बच्चों के कमरे",
        ),
        (
            "guest room",
            "Gästezimmer",
            "la chambre d'amis",
            "el cuarto de invitados",
            "camera degli ospiti",
            "quarto de hóspedes",
            "गेस्ट रूम",
        ),
    ],
    # Romance forms agree with "light" (feminine); Hindi with लाइट/रोशनी (feminine)
    "color": [
        ("red", "rot", "rouge", "roja", "rossa", "vermelha", "लाल"),
        ("blue", "blau", "bleue", "azul", "blu", "azul", "नीली"),
        ("green", "grün", "verte", "verde", "verde", "verde", "हरी"),
        ("yellow", "gelb", "jaune", "amarilla", "gialla", "amarela", "पीली"),
        ("purple", "lila", "violette", "morada", "viola", "roxa", "बैंगनी"),
        ("orange", "orange", "orange", "naranja", "arancione", "laranja", "नारंगी"),
        ("white", "weiß", "blanche", "blanca", "bianca", "branca", "सफ़ेद"),
        ("pink", "rosa", "rose", "rosa", "rosa", "rosa", "गुलाबी"),
    ],
    "genre": [
        ("jazz", "Jazz", "jazz", "jazz", "jazz", "jazz", "जैज़"),
        ("rock", "Rock", "rock", "rock", "rock", "rock", "रॉक"),
        ("classical", "Klassik", "classique", "clásica", "classica", "clássica", "शास्त्रीय"),
        ("pop", "Pop", "pop", "pop", "pop", "pop", "पॉप"),
        ("reggae", "Reggae", "reggae", "reggae", "reggae", "reggae", "रेगे"),
        ("folk", "Folk", "folk", "folk", "folk", "folk", "लोक"),
        ("electronic", "Elektro", "électronique", "electrónica", "elettronica", "eletrônica", "इलेक्ट्रॉनिक"),
        ("latin", "Latin", "latine", "latina", "latina", "latina", "लैटिन"),
        ("country", "Country", "country", "country", "country", "country", "कंट्री"),
        ("blues", "Blues", "blues", "blues", "blues", "blues", "ब्लूज़"),
    ],
    # with the article, German in the accusative (every device template takes a direct object)
    "device": [
        (
            "the fan",
            "den Ventilator",
            "le ventilateur",
            "el ventilador",
            "il ventilatore",
            "o ventilador",
            "पंखा",
        ),
        ("the TV", "den Fernseher", "la télé", "la tele", "la televisione", "a TV", "टीवी"),
        (
            "the coffee machine",
            "die Kaffeemaschine",
            "la machine à café",
            "la cafetera",
            "la macchina del caffè",
            "a cafeteira",
            "कॉफ़ी मशीन",
        ),
        (
            "the washing machine",
            "die Waschmaschine",
            "la machine à laver",
            "la lavadora",
            "la lavatrice",
            "a máquina de lavar",
            "वॉशिंग मशीन",
        ),
        (
            "the air conditioning",
            "die Klimaanlage",
            "la climatisation",
            "el aire acondicionado",
            "l'aria condizionata",
            "o ar-condicionado",
            "एसी",
        ),
        ("the radio", "das Radio", "la radio", "la radio", "la radio", "o rádio", "रेडियो"),
        (
            "the dishwasher",
            "die Spülmaschine",
            "le lave-vaisselle",
            "el lavavajillas",
            "la lavastoviglie",
            "a lava-louças",
            "डिशवॉशर",
        ),
        (
            "the robot vacuum",
            "den Saugroboter",
            "l'aspirateur robot",
            "el robot aspirador",
            "il robot aspirapolvere",
            "o aspirador robô",
            "रोबोट वैक्यूम",
        ),
    ],
    # with the indefinite article, German in the accusative
    "event": [
        (
            "a dentist appointment",
            "einen Zahnarzttermin",
            "un rendez-vous chez le dentiste",
            "una cita con el dentista",
            "un appuntamento dal dentista",
            "uma consulta no dentista",
            "डेंटिस्ट का अपॉइंटमेंट",
        ),
        (
            "a team meeting",
            "eine Teambesprechung",
            "une réunion d'équipe",
            "una reunión de equipo",
            "una riunione di squadra",
            "uma reunião de equipe",
            "टीम मीटिंग",
        ),
        (
            "a yoga class",
            "einen Yogakurs",
            "un cours de yoga",
            "una clase de yoga",
            "una lezione di yoga",
            "uma aula de ioga",
            "योगा क्लास",
        ),
        (
            "a birthday party",
            "eine Geburtstagsfeier",
            "une fête d'anniversaire",
            "una fiesta de cumpleaños",
            "una festa di compleanno",
            "uma festa de aniversário",
            "बर्थडे पार्टी",
        ),
        (
            "a job interview",
            "ein Vorstellungsgespräch",
            "un entretien d'embauche",
            "una entrevista de trabajo",
            "un colloquio di lavoro",
            "uma entrevista de emprego",
            "जॉब इंटरव्यू",
        ),
        (
            "a piano lesson",
            "eine Klavierstunde",
            "un cours de piano",
            "una clase de piano",
            "una lezione di piano",
            "uma aula de piano",
            "पियानो क्लास",
        ),
        (
            "a football practice",
            "ein Fußballtraining",
            "un entraînement de foot",
            "un entrenamiento de fútbol",
            "un allenamento di calcio",
            "um treino de futebol",
            "फ़ुटबॉल प्रैक्टिस",
        ),
        (
            "a family dinner",
            "ein Familienessen",
            "un dîner en famille",
            "una cena familiar",
            "una cena in famiglia",
            "um jantar em família",
            "फ़ैमिली डिनर",
        ),
        (
            "a haircut",
            "einen Friseurtermin",
            "un rendez-vous chez le coiffeur",
            "una cita en la peluquería",
            "un appuntamento dal parrucchiere",
            "um horário no cabeleireiro",
            "हेयरकट का अपॉइंटमेंट",
        ),
        (
            "a video call",
            "einen Videoanruf",
            "un appel vidéo",
            "una videollamada",
            "una videochiamata",
            "uma videochamada",
            "वीडियो कॉल",
        ),
    ],
    # verb phrases in the form the reminder templates need: German zu-infinitive, Hindi oblique infinitive;
    # French ones start with a consonant so "de" never elides
    "task": [
        (
            "pay the rent",
            "die Miete zu bezahlen",
            "payer le loyer",
            "pagar el alquiler",
            "pagare l'affitto",
            "pagar o aluguel",
            "किराया भरने",
        ),
        (
            "feed the cat",
            "die Katze zu füttern",
            "nourrir le chat",
            "dar de comer al gato",
            "dare da mangiare al gatto",
            "dar comida para o gato",
            "बिल्ली को खाना खिलाने",
        ),
        (
            "call mom",
            "Mama anzurufen",
            "téléphoner à maman",
            "llamar a mamá",
            "chiamare la mamma",
            "ligar para a mamãe",
            "माँ को फ़ोन करने",
        ),
        (
            "take my medicine",
            "meine Medikamente zu nehmen",
            "prendre mes médicaments",
            "tomar mis medicinas",
            "prendere le medicine",
            "tomar meu remédio",
            "दवा लेने",
        ),
        (
            "book the tickets",
            "die Tickets zu buchen",
            "réserver les billets",
            "reservar las entradas",
            "prenotare i biglietti",
            "reservar as passagens",
            "टिकट बुक करने",
        ),
        (
            "charge the car",
            "das Auto aufzuladen",
            "recharger la voiture",
            "cargar el coche",
            "caricare la macchina",
            "carregar o carro",
            "गाड़ी चार्ज करने",
        ),
        (
            "take out the trash",
            "den Müll rauszubringen",
            "sortir la poubelle",
            "sacar la basura",
            "portare fuori la spazzatura",
            "levar o lixo para fora",
            "कूड़ा बाहर फेंकने",
        ),
        (
            "walk the dog",
            "mit dem Hund rauszugehen",
            "promener le chien",
            "pasear al perro",
            "portare fuori il cane",
            "passear com o cachorro",
            "कुत्ते को घुमाने",
        ),
        (
            "check the oven",
            "den Ofen zu prüfen",
            "vérifier le four",
            "revisar el horno",
            "controllare il forno",
            "verificar o forno",
            "ओवन जाँचने",
        ),
        (
            "finish the report",
            "den Bericht fertigzuschreiben",
            "finir le rapport",
            "terminar el informe",
            "finire il rapporto",
            "terminar o relatório",
            "रिपोर्ट पूरी करने",
        ),
    ],
    "content": [
        (
            "I'm running late",
            "ich komme später",
            "je suis en retard",
            "llego tarde",
            "sono in ritardo",
            "vou me atrasar",
            "मुझे देर हो रही है",
        ),
        (
            "I'm on my way",
            "ich bin unterwegs",
            "je suis en route",
            "voy de camino",
            "sto arrivando",
            "estou a caminho",
            "मैं रास्ते में हूँ",
        ),
        (
            "happy birthday",
            "alles Gute zum Geburtstag",
            "joyeux anniversaire",
            "feliz cumpleaños",
            "buon compleanno",
            "feliz aniversário",
            "जन्मदिन मुबारक",
        ),
        (
            "dinner is ready",
            "das Essen ist fertig",
            "le dîner est prêt",
            "la cena está lista",
            "la cena è pronta",
            "o jantar está pronto",
            "खाना तैयार है",
        ),
        (
            "call me back",
            "ruf mich zurück",
            "rappelle-moi",
            "llámame",
            "richiamami",
            "me liga de volta",
            "मुझे वापस फ़ोन करो",
        ),
        ("see you soon", "bis bald", "à bientôt", "hasta pronto", "a presto", "até logo", "जल्दी मिलते हैं"),
        (
            "thank you for everything",
            "danke für alles",
            "merci pour tout",
            "gracias por todo",
            "grazie di tutto",
            "obrigado por tudo",
            "हर चीज़ के लिए धन्यवाद",
        ),
        (
            "I'll be home soon",
            "ich bin bald zu Hause",
            "je serai bientôt à la maison",
            "llego pronto a casa",
            "sarò a casa presto",
            "chego em casa logo",
            "मैं जल्दी घर पहुँचूँगा",
        ),
        ("where are you", "wo bist du", "où es-tu", "dónde estás", "dove sei", "onde você está", "तुम कहाँ हो"),
        ("good night", "gute Nacht", "bonne nuit", "buenas noches", "buona notte", "boa noite", "शुभ रात्रि"),
    ],
    # a destination with its preposition: contractions depend on the noun ("zur"/"zum", "à la"/"au")
    "place_to": [
        (
            "to the pharmacy",
            "zur Apotheke",
            "à la pharmacie",
            "a la farmacia",
            "in farmacia",
            "para a farmácia",
            "फ़ार्मेसी तक",
        ),
        (
            "to the hospital",
            "zum Krankenhaus",
            "à l'hôpital",
            "al hospital",
            "all'ospedale",
            "para o hospital",
            "अस्पताल तक",
        ),
        (
            "to the library",
            "zur Bibliothek",
            "à la bibliothèque",
            "a la biblioteca",
            "in biblioteca",
            "para a biblioteca",
            "लाइब्रेरी तक",
        ),
        ("to the museum", "zum Museum", "au musée", "al museo", "al museo", "para o museu", "संग्रहालय तक"),
        (
            "to the post office",
            "zur Post",
            "à la poste",
            "a la oficina de correos",
            "all'ufficio postale",
            "para a agência dos correios",
            "डाकघर तक",
        ),
        (
            "to the city centre",
            "in die Innenstadt",
            "au centre-ville",
            "al centro",
            "in centro",
            "para o centro",
            "शहर के केंद्र तक",
        ),
        (
            "to the stadium",
            "zum Stadion",
            "au stade",
            "al estadio",
            "allo stadio",
            "para o estádio",
            "स्टेडियम तक",
        ),
        (
            "to the gas station",
            "zur Tankstelle",
            "à la station-service",
            "a la gasolinera",
            "al distributore",
            "para o posto de gasolina",
            "पेट्रोल पंप तक",
        ),
        (
            "to the bakery",
            "zur Bäckerei",
            "à la boulangerie",
            "a la panadería",
            "in panetteria",
            "para a padaria",
            "बेकरी तक",
        ),
        (
            "to the town hall",
            "zum Rathaus",
            "à la mairie",
            "al ayuntamiento",
            "al municipio",
            "para a prefeitura",
            "नगर निगम तक",
        ),
    ],
    # the same places as a subject/object with the article (German ones are feminine or neuter: nom = acc)
    "place": [
        (
            "the pharmacy",
            "die Apotheke",
            "la pharmacie",
            "la farmacia",
            "la farmacia",
            "a farmácia",
            "फ़ार्मेसी",
        ),
        ("the hospital", "das Krankenhaus", "l'hôpital", "el hospital", "l'ospedale", "o hospital", "अस्पताल"),
        (
            "the library",
            "die Bibliothek",
            "la bibliothèque",
            "la biblioteca",
            "la biblioteca",
            "a biblioteca",
            "लाइब्रेरी",
        ),
        ("the museum", "das Museum", "le musée", "el museo", "il museo", "o museu", "संग्रहालय"),
        (
            "the post office",
            "die Post",
            "la poste",
            "la oficina de correos",
            "l'ufficio postale",
            "a agência dos correios",
            "डाकघर",
        ),
        (
            "the city centre",
            "die Innenstadt",
            "le centre-ville",
            "el centro",
            "il centro",
            "o centro",
            "शहर का केंद्र",
        ),
        ("the stadium", "das Stadion", "le stade", "el estadio", "lo stadio", "o estádio", "स्टेडियम"),
        (
            "the gas station",
            "die Tankstelle",
            "la station-service",
            "la gasolinera",
            "il distributore",
            "o posto de gasolina",
            "पेट्रोल पंप",
        ),
        (
            "the bakery",
            "die Bäckerei",
            "la boulangerie",
            "la panadería",
            "la panetteria",
            "a padaria",
            "बेकरी",
        ),
        (
            "the town hall",
            "das Rathaus",
            "la mairie",
            "el ayuntamiento",
            "il municipio",
            "a prefeitura",
            "नगर निगम",
        ),
    ],
    "weekday": [
        ("Monday", "Montag", "lundi", "lunes", "lunedì", "segunda-feira", "सोमवार"),
        ("Tuesday", "Dienstag", "mardi", "martes", "martedì", "terça-feira", "मंगलवार"),
        ("Wednesday", "Mittwoch", "mercredi", "miércoles", "mercoledì", "quarta-feira", "बुधवार"),
        ("Thursday", "Donnerstag", "jeudi", "jueves", "giovedì", "quinta-feira", "गुरुवार"),
        ("Friday", "Freitag", "vendredi", "viernes", "venerdì", "sexta-feira", "शुक्रवार"),
        ("Saturday", "Samstag", "samedi", "sábado", "sabato", "sábado", "शनिवार"),
        ("Sunday", "Sonntag", "dimanche", "domingo", "domenica", "domingo", "रविवार"),
    ],
}

_LANG_INDEX = {lang: i for i, lang in enumerate(LANGS)}

# -------------------------------------------------------------------------------------- numeric pools
MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "it": (
        "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
        "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
    ),
    "pt": (
        "janeiro", "fevereiro", "março", "abril", "maio", "junho",
        "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
    ),
    "hi": (
        "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
        "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर",
    ),
}  # fmt: skip

# Written formats per language; `{d}` day, `{M}` month name, `{n}` a number, `{h}`/`{mm}` hour/minutes.
DATE_FORMAT = {"en": "{M} {d}", "de": "{d}. {M}", "fr": "{d} {M}", "es": "{d} de {M}",
               "it": "{d} {M}", "pt": "{d} de {M}", "hi": "{d} {M}"}  # fmt: skip
# times: (format with minutes, format on the hour); English uses the 12-hour clock
TIME_FORMAT = {
    "en": ("{h12}:{mm} {ampm}", "{h12} {ampm}"),
    "de": ("{h}:{mm} Uhr", "{h} Uhr"),
    "fr": ("{h}h{mm}", "{h}h"),
    "es": ("{h}:{mm}", "{h}:00"),
    "it": ("{h}:{mm}", "{h}:00"),
    "pt": ("{h}h{mm}", "{h}h"),
    "hi": ("{h}:{mm}", "{h}:00"),
}
DURATION_UNITS = {  # unit -> plural word per language (durations are always >= 2)
    "min": {"en": "minutes", "de": "Minuten", "fr": "minutes", "es": "minutos", "it": "minuti",
            "pt": "minutos", "hi": "मिनट"},
    "h": {"en": "hours", "de": "Stunden", "fr": "heures", "es": "horas", "it": "ore", "pt": "horas", "hi": "घंटे"},
}  # fmt: skip
PERCENT_FORMAT = {
    "en": "{n}%",
    "de": "{n} %",
    "fr": "{n} %",
    "es": "{n} %",
    "it": "{n}%",
    "pt": "{n}%",
    "hi": "{n}%",
}
TEMPERATURE_FORMAT = {"en": "{n} degrees", "de": "{n} Grad", "fr": "{n} degrés", "es": "{n} grados",
                      "it": "{n} gradi", "pt": "{n} graus", "hi": "{n} डिग्री"}  # fmt: skip
AMOUNT_FORMAT = {"en": "€{n}", "de": "{n} €", "fr": "{n} €", "es": "{n} €", "it": "{n} €", "pt": "{n} €",
                 "hi": "{n} यूरो"}  # fmt: skip

_NUMERIC: dict[str, list[tuple]] = {
    "time": [(h, m) for h in range(6, 23) for m in (0, 15, 30, 45)],
    "date": [(d, mo) for mo in range(1, 13) for d in range(2, 29, 3)],
    "duration": [(n, "min") for n in range(2, 60, 2)] + [(n, "h") for n in range(2, 7)],
    "percent": [(n,) for n in range(10, 101, 5)],
    "temperature": [(n,) for n in range(16, 29)],
    "count": [(n,) for n in range(2, 13)],
    "amount": [
        (n,) for n in (5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 45, 50, 60, 75, 80, 90, 100, 120, 150)
    ],
}

POOLS: tuple[str, ...] = tuple(sorted([*_CATEGORICAL, *_NUMERIC]))


def pool_size(pool: str) -> int:
    """Number of values in a pool."""
    return len(_CATEGORICAL[pool]) if pool in _CATEGORICAL else len(_NUMERIC[pool])


def value_split(index: int) -> str:
    """'test' for held-out values, else 'train' (dev requests use training values)."""
    # A diagonal rather than every 4th index: numeric pools are enumerated as nested ranges (hours x
    # minutes), and every 4th index would hold out one whole minute value instead of a spread of times.
    return "test" if (index + index // HOLD_OUT_EVERY) % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else "train"


@cache
def indices(pool: str, split: str) -> tuple[int, ...]:
    """Indices of a pool's values usable in a split ('train', 'dev' or 'test')."""
    want = "test" if split == "test" else "train"
    return tuple(i for i in range(pool_size(pool)) if value_split(i) == want)


def value_key(pool: str, index: int) -> str:
    """A language-independent key of one value, e.g. 'time:19:30' or 'city:3'."""
    if pool in _CATEGORICAL:
        return f"{pool}:{index}"
    return pool + ":" + ":".join(str(x) for x in _NUMERIC[pool][index])


def render(pool: str, index: int, lang: str) -> str:
    """The written form of value `index` of `pool` in `lang`."""
    if pool in _CATEGORICAL:
        return _CATEGORICAL[pool][index][_LANG_INDEX[lang]]
    v = _NUMERIC[pool][index]
    if pool == "time":
        h, m = v
        with_minutes, on_the_hour = TIME_FORMAT[lang]
        fmt = with_minutes if m else on_the_hour
        return fmt.format(h=h, mm=f"{m:02d}", h12=h % 12 or 12, ampm="am" if h < 12 else "pm")
    if pool == "date":
        d, mo = v
        return DATE_FORMAT[lang].format(d=d, M=MONTHS[lang][mo - 1])
    if pool == "duration":
        n, unit = v
        return f"{n} {DURATION_UNITS[unit][lang]}"
    if pool == "percent":
        return PERCENT_FORMAT[lang].format(n=v[0])
    if pool == "temperature":
        return TEMPERATURE_FORMAT[lang].format(n=v[0])
    if pool == "amount":
        return AMOUNT_FORMAT[lang].format(n=v[0])
    return str(v[0])  # count
