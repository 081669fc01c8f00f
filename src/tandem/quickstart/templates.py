"""Request templates of the embedded default corpus: 14 voice-assistant domains, 25 intents, 7 languages.

Written for tandem (not taken from any dataset). Each intent has a list of templates; entry k of the list
means the same request in every language, so the same template id with the same slot values gives a
translation pair. Templates under "test" are never used for training: test scores measure generalisation
to unseen phrasings. `{slot}` marks a slot; its value type is `SLOT_TYPES[slot]` (see values.py).

Grammar notes (why some values carry articles or prepositions): slot values are filled in verbatim, so
templates are phrased to avoid contractions that depend on the value (French "à le" -> "au", German
"in dem" -> "im" with masculine nouns, ...); where that is impossible the value carries them (the
`destination` slot: "to the pharmacy", "zur Apotheke", "à la pharmacie").
"""

from __future__ import annotations

LANGS: tuple[str, ...] = ("en", "de", "fr", "es", "it", "pt", "hi")

# slot name -> value pool name (values.py)
SLOT_TYPES: dict[str, str] = {
    "time": "time",
    "weekday": "weekday",
    "date": "date",
    "duration": "duration",
    "percent": "percent",
    "temperature": "temperature",
    "party_size": "count",
    "amount": "amount",
    "name": "name",
    "city": "city",
    "from_city": "city",
    "to_city": "city",
    "item": "item",
    "room": "room",
    "color": "color",
    "genre": "genre",
    "device": "device",
    "event": "event",
    "task": "task",
    "content": "content",
    "destination": "place_to",
    "place": "place",
}

# A polite variant of any request; "{}" is the request without its final punctuation.
POLITE: dict[str, str] = {
    "en": "{}, please",
    "de": "{}, bitte",
    "fr": "{}, s'il te plaît",
    "es": "{}, por favor",
    "it": "{}, per favore",
    "pt": "{}, por favor",
    "hi": "कृपया {}",
}

T = dict[str, str]

# intent -> domain, description (the verbalised label used by the few-shot classification items),
# train templates, held-out test templates.
INTENTS: dict[str, dict] = {
    # ---------------------------------------------------------------------------------------------- alarm
    "alarm_set": {
        "domain": "alarm",
        "description": "set an alarm",
        "train": [
            {
                "en": "Set an alarm for {time}",
                "de": "Stell einen Wecker für {time}",
                "fr": "Mets un réveil à {time}",
                "es": "Pon una alarma a las {time}",
                "it": "Imposta una sveglia alle {time}",
                "pt": "Coloque um alarme para as {time}",
                "hi": "{time} बजे का अलार्म लगाओ",
            },
            {
                "en": "Wake me up at {time} on {weekday}",
                "de": "Weck mich am {weekday} um {time}",
                "fr": "Réveille-moi {weekday} à {time}",
                "es": "Despiértame el {weekday} a las {time}",
                "it": "Svegliami {weekday} alle {time}",
                "pt": "Me acorde {weekday} às {time}",
                "hi": "{weekday} को {time} बजे मुझे जगा देना",
            },
        ],
        "test": [
            {
                "en": "I need an alarm at {time}",
                "de": "Ich brauche einen Wecker um {time}",
                "fr": "J'ai besoin d'un réveil à {time}",
                "es": "Necesito una alarma a las {time}",
                "it": "Mi serve una sveglia alle {time}",
                "pt": "Preciso de um alarme às {time}",
                "hi": "मुझे {time} बजे का अलार्म चाहिए",
            },
        ],
    },
    "alarm_cancel": {
        "domain": "alarm",
        "description": "cancel an alarm",
        "train": [
            {
                "en": "Cancel my {time} alarm",
                "de": "Lösch den Wecker um {time}",
                "fr": "Annule le réveil de {time}",
                "es": "Cancela la alarma de las {time}",
                "it": "Cancella la sveglia delle {time}",
                "pt": "Cancele o alarme das {time}",
                "hi": "{time} बजे वाला अलार्म रद्द करो",
            },
            {
                "en": "Turn off the alarm for {weekday}",
                "de": "Schalte den Wecker für {weekday} aus",
                "fr": "Désactive le réveil de {weekday}",
                "es": "Desactiva la alarma del {weekday}",
                "it": "Disattiva la sveglia di {weekday}",
                "pt": "Desative o alarme de {weekday}",
                "hi": "{weekday} का अलार्म बंद करो",
            },
        ],
        "test": [
            {
                "en": "Delete the alarm at {time}",
                "de": "Entferne den Wecker für {time}",
                "fr": "Supprime l'alarme de {time}",
                "es": "Borra la alarma de las {time}",
                "it": "Elimina la sveglia delle {time}",
                "pt": "Apague o alarme das {time}",
                "hi": "{time} बजे का अलार्म हटा दो",
            },
        ],
    },
    # ---------------------------------------------------------------------------------------------- timer
    "timer_set": {
        "domain": "timer",
        "description": "start a timer",
        "train": [
            {
                "en": "Set a timer for {duration}",
                "de": "Stell einen Timer auf {duration}",
                "fr": "Lance un minuteur de {duration}",
                "es": "Pon un temporizador de {duration}",
                "it": "Imposta un timer di {duration}",
                "pt": "Coloque um timer de {duration}",
                "hi": "{duration} का टाइमर लगाओ",
            },
            {
                "en": "Count down {duration}",
                "de": "Zähl {duration} runter",
                "fr": "Fais un compte à rebours de {duration}",
                "es": "Haz una cuenta atrás de {duration}",
                "it": "Fai un conto alla rovescia di {duration}",
                "pt": "Faça uma contagem regressiva de {duration}",
                "hi": "{duration} की उलटी गिनती शुरू करो",
            },
        ],
        "test": [
            {
                "en": "Can you time {duration} for me?",
                "de": "Kannst du {duration} für mich stoppen?",
                "fr": "Peux-tu chronométrer {duration} pour moi ?",
                "es": "¿Puedes cronometrar {duration} para mí?",
                "it": "Puoi cronometrare {duration} per me?",
                "pt": "Você pode cronometrar {duration} para mim?",
                "hi": "क्या तुम मेरे लिए {duration} का टाइमर चला सकते हो?",
            },
        ],
    },
    "timer_cancel": {
        "domain": "timer",
        "description": "stop a timer",
        "train": [
            {
                "en": "Stop the timer",
                "de": "Stopp den Timer",
                "fr": "Arrête le minuteur",
                "es": "Detén el temporizador",
                "it": "Ferma il timer",
                "pt": "Pare o timer",
                "hi": "टाइमर बंद करो",
            },
            {
                "en": "Cancel the timer",
                "de": "Brich den Timer ab",
                "fr": "Annule le minuteur",
                "es": "Cancela el temporizador",
                "it": "Annulla il timer",
                "pt": "Cancele o timer",
                "hi": "टाइमर रद्द करो",
            },
        ],
        "test": [
            {
                "en": "I don't need the timer anymore",
                "de": "Ich brauche den Timer nicht mehr",
                "fr": "Je n'ai plus besoin du minuteur",
                "es": "Ya no necesito el temporizador",
                "it": "Non mi serve più il timer",
                "pt": "Não preciso mais do timer",
                "hi": "मुझे अब टाइमर नहीं चाहिए",
            },
        ],
    },
    # -------------------------------------------------------------------------------------------- weather
    "weather_query": {
        "domain": "weather",
        "description": "ask about the weather",
        "train": [
            {
                "en": "What's the weather like in {city}?",
                "de": "Wie ist das Wetter in {city}?",
                "fr": "Quel temps fait-il à {city} ?",
                "es": "¿Qué tiempo hace en {city}?",
                "it": "Che tempo fa a {city}?",
                "pt": "Como está o tempo em {city}?",
                "hi": "{city} में मौसम कैसा है?",
            },
            {
                "en": "Will it rain in {city} on {weekday}?",
                "de": "Regnet es am {weekday} in {city}?",
                "fr": "Est-ce qu'il va pleuvoir {weekday} à {city} ?",
                "es": "¿Va a llover el {weekday} en {city}?",
                "it": "Pioverà {weekday} a {city}?",
                "pt": "Vai chover {weekday} em {city}?",
                "hi": "क्या {weekday} को {city} में बारिश होगी?",
            },
        ],
        "test": [
            {
                "en": "Tell me the forecast for {city}",
                "de": "Sag mir die Vorhersage für {city}",
                "fr": "Donne-moi la météo pour {city}",
                "es": "Dime el pronóstico para {city}",
                "it": "Dimmi le previsioni per {city}",
                "pt": "Me diga a previsão para {city}",
                "hi": "मुझे {city} का मौसम बताओ",
            },
        ],
    },
    # ---------------------------------------------------------------------------------------------- music
    "music_play": {
        "domain": "music",
        "description": "play music",
        "train": [
            {
                "en": "Play some {genre} music",
                "de": "Spiel {genre}",
                "fr": "Mets de la musique {genre}",
                "es": "Pon música {genre}",
                "it": "Metti musica {genre}",
                "pt": "Toque música {genre}",
                "hi": "{genre} संगीत चलाओ",
            },
            {
                "en": "I want to listen to {genre} music",
                "de": "Ich möchte {genre} hören",
                "fr": "Je veux écouter de la musique {genre}",
                "es": "Quiero escuchar música {genre}",
                "it": "Voglio ascoltare musica {genre}",
                "pt": "Quero ouvir música {genre}",
                "hi": "मुझे {genre} संगीत सुनना है",
            },
        ],
        "test": [
            {
                "en": "Start a playlist of {genre} music",
                "de": "Starte eine Playlist mit {genre}",
                "fr": "Lance une playlist de musique {genre}",
                "es": "Pon una lista de reproducción de música {genre}",
                "it": "Avvia una playlist di musica {genre}",
                "pt": "Inicie uma playlist de música {genre}",
                "hi": "{genre} संगीत की प्लेलिस्ट शुरू करो",
            },
        ],
    },
    "volume_set": {
        "domain": "music",
        "description": "change the volume",
        "train": [
            {
                "en": "Set the volume to {percent}",
                "de": "Stell die Lautstärke auf {percent}",
                "fr": "Règle le volume à {percent}",
                "es": "Pon el volumen al {percent}",
                "it": "Imposta il volume al {percent}",
                "pt": "Coloque o volume em {percent}",
                "hi": "आवाज़ {percent} पर कर दो",
            },
            {
                "en": "Change the volume to {percent}",
                "de": "Ändere die Lautstärke auf {percent}",
                "fr": "Mets le volume à {percent}",
                "es": "Cambia el volumen al {percent}",
                "it": "Cambia il volume al {percent}",
                "pt": "Mude o volume para {percent}",
                "hi": "वॉल्यूम {percent} करो",
            },
        ],
        "test": [
            {
                "en": "I want the volume at {percent}",
                "de": "Ich möchte die Lautstärke bei {percent}",
                "fr": "Je veux le volume à {percent}",
                "es": "Quiero el volumen al {percent}",
                "it": "Voglio il volume al {percent}",
                "pt": "Quero o volume em {percent}",
                "hi": "मुझे वॉल्यूम {percent} पर चाहिए",
            },
        ],
    },
    # --------------------------------------------------------------------------------------------- lights
    "lights_on": {
        "domain": "lights",
        "description": "turn the lights on",
        "train": [
            {
                "en": "Turn on the lights in the {room}",
                "de": "Mach das Licht im {room} an",
                "fr": "Allume la lumière dans {room}",
                "es": "Enciende la luz en {room}",
                "it": "Accendi la luce in {room}",
                "pt": "Acenda a luz no {room}",
                "hi": "{room} की लाइट जला दो",
            },
            {
                "en": "Switch on the {room} light",
                "de": "Schalte das Licht im {room} ein",
                "fr": "Mets la lumière dans {room}",
                "es": "Prende la luz en {room}",
                "it": "Accendi le luci in {room}",
                "pt": "Ligue a luz no {room}",
                "hi": "{room} में लाइट चालू करो",
            },
        ],
        "test": [
            {
                "en": "It's too dark in the {room}",
                "de": "Es ist zu dunkel im {room}",
                "fr": "Il fait trop sombre dans {room}",
                "es": "Está muy oscuro en {room}",
                "it": "È troppo buio in {room}",
                "pt": "Está muito escuro no {room}",
                "hi": "{room} में बहुत अंधेरा है",
            },
        ],
    },
    "lights_off": {
        "domain": "lights",
        "description": "turn the lights off",
        "train": [
            {
                "en": "Turn off the lights in the {room}",
                "de": "Mach das Licht im {room} aus",
                "fr": "Éteins la lumière dans {room}",
                "es": "Apaga la luz en {room}",
                "it": "Spegni la luce in {room}",
                "pt": "Apague a luz no {room}",
                "hi": "{room} की लाइट बंद करो",
            },
            {
                "en": "Switch off the {room} light",
                "de": "Schalte das Licht im {room} aus",
                "fr": "Coupe la lumière dans {room}",
                "es": "Apaga las luces en {room}",
                "it": "Spegni le luci in {room}",
                "pt": "Desligue a luz no {room}",
                "hi": "{room} में लाइट बुझा दो",
            },
        ],
        "test": [
            {
                "en": "I don't need the light in the {room}",
                "de": "Ich brauche kein Licht im {room}",
                "fr": "Je n'ai pas besoin de lumière dans {room}",
                "es": "No necesito luz en {room}",
                "it": "Non mi serve la luce in {room}",
                "pt": "Não preciso de luz no {room}",
                "hi": "{room} में लाइट की ज़रूरत नहीं है",
            },
        ],
    },
    "lights_color": {
        "domain": "lights",
        "description": "change the colour of the lights",
        "train": [
            {
                "en": "Make the light in the {room} {color}",
                "de": "Mach das Licht im {room} {color}",
                "fr": "Mets la lumière {color} dans {room}",
                "es": "Pon la luz {color} en {room}",
                "it": "Fai la luce {color} in {room}",
                "pt": "Deixe a luz {color} no {room}",
                "hi": "{room} की लाइट {color} कर दो",
            },
            {
                "en": "I want {color} light in the {room}",
                "de": "Das Licht im {room} soll {color} sein",
                "fr": "Je veux une lumière {color} dans {room}",
                "es": "Quiero una luz {color} en {room}",
                "it": "Voglio una luce {color} in {room}",
                "pt": "Quero uma luz {color} no {room}",
                "hi": "{room} में {color} रोशनी चाहिए",
            },
        ],
        "test": [
            {
                "en": "Can the light in the {room} be {color}?",
                "de": "Kann das Licht im {room} {color} werden?",
                "fr": "La lumière dans {room} peut-elle être {color} ?",
                "es": "¿Puede la luz en {room} ser {color}?",
                "it": "La luce in {room} può diventare {color}?",
                "pt": "A luz no {room} pode ficar {color}?",
                "hi": "क्या {room} की लाइट {color} हो सकती है?",
            },
        ],
    },
    # ------------------------------------------------------------------------------------------- shopping
    "list_add": {
        "domain": "shopping",
        "description": "add to the shopping list",
        "train": [
            {
                "en": "Add {item} to my shopping list",
                "de": "Setz {item} auf meine Einkaufsliste",
                "fr": "Ajoute {item} à ma liste de courses",
                "es": "Añade {item} a mi lista de la compra",
                "it": "Aggiungi {item} alla lista della spesa",
                "pt": "Adicione {item} à lista de compras",
                "hi": "मेरी शॉपिंग लिस्ट में {item} जोड़ दो",
            },
            {
                "en": "Put {item} on the list",
                "de": "Schreib {item} auf die Liste",
                "fr": "Mets {item} sur la liste",
                "es": "Apunta {item} en la lista",
                "it": "Metti {item} nella lista",
                "pt": "Coloque {item} na lista",
                "hi": "लिस्ट में {item} डाल दो",
            },
        ],
        "test": [
            {
                "en": "We need {item}",
                "de": "Wir brauchen {item}",
                "fr": "Il nous faut {item}",
                "es": "Necesitamos {item}",
                "it": "Abbiamo bisogno di {item}",
                "pt": "Precisamos de {item}",
                "hi": "हमें {item} चाहिए",
            },
        ],
    },
    "list_query": {
        "domain": "shopping",
        "description": "read the shopping list",
        "train": [
            {
                "en": "What's on my shopping list?",
                "de": "Was steht auf meiner Einkaufsliste?",
                "fr": "Qu'est-ce qu'il y a sur ma liste de courses ?",
                "es": "¿Qué hay en mi lista de la compra?",
                "it": "Cosa c'è nella lista della spesa?",
                "pt": "O que tem na minha lista de compras?",
                "hi": "मेरी शॉपिंग लिस्ट में क्या है?",
            },
            {
                "en": "Read me the shopping list",
                "de": "Lies mir die Einkaufsliste vor",
                "fr": "Lis-moi la liste de courses",
                "es": "Léeme la lista de la compra",
                "it": "Leggimi la lista della spesa",
                "pt": "Leia a lista de compras para mim",
                "hi": "मुझे शॉपिंग लिस्ट पढ़कर सुनाओ",
            },
        ],
        "test": [
            {
                "en": "Do I still need to buy anything?",
                "de": "Muss ich noch etwas kaufen?",
                "fr": "Est-ce que je dois encore acheter quelque chose ?",
                "es": "¿Tengo que comprar algo más?",
                "it": "Devo comprare ancora qualcosa?",
                "pt": "Ainda preciso comprar alguma coisa?",
                "hi": "क्या मुझे अभी कुछ और खरीदना है?",
            },
        ],
    },
    # ------------------------------------------------------------------------------------------- calendar
    "calendar_add": {
        "domain": "calendar",
        "description": "add a calendar event",
        "train": [
            {
                "en": "Add {event} to my calendar on {date} at {time}",
                "de": "Trag {event} am {date} um {time} ein",
                "fr": "Ajoute {event} le {date} à {time}",
                "es": "Añade {event} el {date} a las {time}",
                "it": "Aggiungi {event} il {date} alle {time}",
                "pt": "Adicione {event} no dia {date} às {time}",
                "hi": "{date} को {time} बजे {event} कैलेंडर में जोड़ दो",
            },
            {
                "en": "Schedule {event} for {weekday} at {time}",
                "de": "Plane {event} für {weekday} um {time}",
                "fr": "Programme {event} pour {weekday} à {time}",
                "es": "Programa {event} para el {weekday} a las {time}",
                "it": "Programma {event} per {weekday} alle {time}",
                "pt": "Agende {event} para {weekday} às {time}",
                "hi": "{weekday} को {time} बजे {event} शेड्यूल करो",
            },
        ],
        "test": [
            {
                "en": "I have {event} on {date}",
                "de": "Ich habe am {date} {event}",
                "fr": "J'ai {event} le {date}",
                "es": "Tengo {event} el {date}",
                "it": "Ho {event} il {date}",
                "pt": "Tenho {event} no dia {date}",
                "hi": "{date} को {event} है",
            },
        ],
    },
    "calendar_query": {
        "domain": "calendar",
        "description": "check the calendar",
        "train": [
            {
                "en": "What's on my calendar for {date}?",
                "de": "Was steht am {date} in meinem Kalender?",
                "fr": "Qu'est-ce que j'ai dans mon agenda le {date} ?",
                "es": "¿Qué tengo en el calendario el {date}?",
                "it": "Cosa ho in agenda il {date}?",
                "pt": "O que tenho na agenda no dia {date}?",
                "hi": "{date} को मेरे कैलेंडर में क्या है?",
            },
            {
                "en": "Do I have anything on {weekday}?",
                "de": "Habe ich am {weekday} etwas vor?",
                "fr": "Est-ce que j'ai quelque chose {weekday} ?",
                "es": "¿Tengo algo el {weekday}?",
                "it": "Ho qualcosa {weekday}?",
                "pt": "Tenho alguma coisa {weekday}?",
                "hi": "क्या {weekday} को मेरा कुछ प्लान है?",
            },
        ],
        "test": [
            {
                "en": "Am I free on {date}?",
                "de": "Bin ich am {date} frei?",
                "fr": "Suis-je libre le {date} ?",
                "es": "¿Estoy libre el {date}?",
                "it": "Sono libero il {date}?",
                "pt": "Estou livre no dia {date}?",
                "hi": "क्या मैं {date} को खाली हूँ?",
            },
        ],
    },
    # ------------------------------------------------------------------------------------------- messages
    "message_send": {
        "domain": "messages",
        "description": "send a message",
        "train": [
            {
                "en": "Send a message to {name} saying {content}",
                "de": "Schick {name} eine Nachricht: {content}",
                "fr": "Envoie un message à {name} : {content}",
                "es": "Manda un mensaje a {name} que diga {content}",
                "it": "Manda un messaggio a {name}: {content}",
                "pt": "Mande uma mensagem para {name} dizendo {content}",
                "hi": "{name} को मैसेज भेजो कि {content}",
            },
            {
                "en": "Text {name}: {content}",
                "de": "Schreib {name}: {content}",
                "fr": "Écris à {name} : {content}",
                "es": "Escríbele a {name}: {content}",
                "it": "Scrivi a {name}: {content}",
                "pt": "Escreva para {name}: {content}",
                "hi": "{name} को लिखो: {content}",
            },
        ],
        "test": [
            {
                "en": "Let {name} know: {content}",
                "de": "Sag {name} Bescheid: {content}",
                "fr": "Préviens {name} : {content}",
                "es": "Avisa a {name}: {content}",
                "it": "Avvisa {name}: {content}",
                "pt": "Avise {name}: {content}",
                "hi": "{name} को बता दो: {content}",
            },
        ],
    },
    "call_contact": {
        "domain": "messages",
        "description": "call someone",
        "train": [
            {
                "en": "Call {name}",
                "de": "Ruf {name} an",
                "fr": "Appelle {name}",
                "es": "Llama a {name}",
                "it": "Chiama {name}",
                "pt": "Ligue para {name}",
                "hi": "{name} को कॉल करो",
            },
            {
                "en": "Give {name} a call",
                "de": "Starte einen Anruf an {name}",
                "fr": "Téléphone à {name}",
                "es": "Haz una llamada a {name}",
                "it": "Fai una telefonata a {name}",
                "pt": "Faça uma ligação para {name}",
                "hi": "{name} को फ़ोन लगाओ",
            },
        ],
        "test": [
            {
                "en": "I want to talk to {name}",
                "de": "Ich will mit {name} sprechen",
                "fr": "Je veux parler à {name}",
                "es": "Quiero hablar con {name}",
                "it": "Voglio parlare con {name}",
                "pt": "Quero falar com {name}",
                "hi": "मुझे {name} से बात करनी है",
            },
        ],
    },
    # --------------------------------------------------------------------------------------------- travel
    "travel_book": {
        "domain": "travel",
        "description": "book a trip",
        "train": [
            {
                "en": "Book a train from {from_city} to {to_city} on {date}",
                "de": "Buch einen Zug von {from_city} nach {to_city} am {date}",
                "fr": "Réserve un train de {from_city} à {to_city} le {date}",
                "es": "Reserva un tren de {from_city} a {to_city} para el {date}",
                "it": "Prenota un treno da {from_city} a {to_city} per il {date}",
                "pt": "Reserve um trem de {from_city} para {to_city} no dia {date}",
                "hi": "{date} को {from_city} से {to_city} की ट्रेन बुक करो",
            },
            {
                "en": "I need a flight to {to_city} on {date}",
                "de": "Ich brauche einen Flug nach {to_city} am {date}",
                "fr": "Il me faut un vol pour {to_city} le {date}",
                "es": "Necesito un vuelo a {to_city} el {date}",
                "it": "Mi serve un volo per {to_city} il {date}",
                "pt": "Preciso de um voo para {to_city} no dia {date}",
                "hi": "मुझे {date} को {to_city} के लिए फ़्लाइट चाहिए",
            },
        ],
        "test": [
            {
                "en": "Find me a bus from {from_city} to {to_city}",
                "de": "Such mir einen Bus von {from_city} nach {to_city}",
                "fr": "Trouve-moi un bus de {from_city} à {to_city}",
                "es": "Búscame un autobús de {from_city} a {to_city}",
                "it": "Trovami un autobus da {from_city} a {to_city}",
                "pt": "Encontre um ônibus de {from_city} para {to_city}",
                "hi": "{from_city} से {to_city} की बस ढूँढो",
            },
        ],
    },
    # ------------------------------------------------------------------------------------------ reminders
    "reminder_set": {
        "domain": "reminders",
        "description": "set a reminder",
        "train": [
            {
                "en": "Remind me to {task} at {time}",
                "de": "Erinnere mich um {time} daran, {task}",
                "fr": "Rappelle-moi de {task} à {time}",
                "es": "Recuérdame {task} a las {time}",
                "it": "Ricordami di {task} alle {time}",
                "pt": "Me lembre de {task} às {time}",
                "hi": "मुझे {time} बजे {task} की याद दिलाओ",
            },
            {
                "en": "At {time}, remind me to {task}",
                "de": "Um {time} musst du mich daran erinnern, {task}",
                "fr": "À {time}, rappelle-moi de {task}",
                "es": "A las {time}, recuérdame {task}",
                "it": "Alle {time} ricordami di {task}",
                "pt": "Às {time}, me lembre de {task}",
                "hi": "{time} बजे मुझे {task} की याद दिला देना",
            },
        ],
        "test": [
            {
                "en": "Don't let me forget to {task} on {weekday}",
                "de": "Lass mich am {weekday} nicht vergessen, {task}",
                "fr": "Ne me laisse pas oublier de {task} {weekday}",
                "es": "No me dejes olvidar {task} el {weekday}",
                "it": "Non farmi dimenticare di {task} {weekday}",
                "pt": "Não me deixe esquecer de {task} {weekday}",
                "hi": "{weekday} को मुझे {task} की याद दिलाना मत भूलना",
            },
        ],
    },
    # ----------------------------------------------------------------------------------------- smart home
    "thermostat_set": {
        "domain": "smarthome",
        "description": "set the heating",
        "train": [
            {
                "en": "Set the heating to {temperature}",
                "de": "Stell die Heizung auf {temperature}",
                "fr": "Règle le chauffage sur {temperature}",
                "es": "Pon la calefacción a {temperature}",
                "it": "Imposta il riscaldamento a {temperature}",
                "pt": "Ajuste o aquecimento para {temperature}",
                "hi": "हीटिंग {temperature} पर सेट करो",
            },
            {
                "en": "Make it {temperature} in the {room}",
                "de": "Mach es im {room} {temperature} warm",
                "fr": "Mets {temperature} dans {room}",
                "es": "Pon {room} a {temperature}",
                "it": "Metti {temperature} in {room}",
                "pt": "Deixe o {room} em {temperature}",
                "hi": "{room} का तापमान {temperature} करो",
            },
        ],
        "test": [
            {
                "en": "I'd like {temperature} in the house",
                "de": "Ich hätte gern {temperature} im Haus",
                "fr": "Je voudrais {temperature} dans la maison",
                "es": "Quiero {temperature} en casa",
                "it": "Vorrei {temperature} in casa",
                "pt": "Quero {temperature} em casa",
                "hi": "घर में {temperature} चाहिए",
            },
        ],
    },
    "device_on": {
        "domain": "smarthome",
        "description": "switch a device on",
        "train": [
            {
                "en": "Turn on {device}",
                "de": "Schalte {device} ein",
                "fr": "Allume {device}",
                "es": "Enciende {device}",
                "it": "Accendi {device}",
                "pt": "Ligue {device}",
                "hi": "{device} चालू करो",
            },
            {
                "en": "Switch {device} on",
                "de": "Mach {device} an",
                "fr": "Mets en marche {device}",
                "es": "Prende {device}",
                "it": "Avvia {device}",
                "pt": "Liga {device}",
                "hi": "{device} ऑन कर दो",
            },
        ],
        "test": [
            {
                "en": "Can you start {device}?",
                "de": "Kannst du {device} starten?",
                "fr": "Tu peux démarrer {device} ?",
                "es": "¿Puedes poner en marcha {device}?",
                "it": "Puoi accendere {device}?",
                "pt": "Você pode ligar {device}?",
                "hi": "क्या तुम {device} चला सकते हो?",
            },
        ],
    },
    "device_off": {
        "domain": "smarthome",
        "description": "switch a device off",
        "train": [
            {
                "en": "Turn off {device}",
                "de": "Schalte {device} aus",
                "fr": "Éteins {device}",
                "es": "Apaga {device}",
                "it": "Spegni {device}",
                "pt": "Desligue {device}",
                "hi": "{device} बंद करो",
            },
            {
                "en": "Switch {device} off",
                "de": "Mach {device} aus",
                "fr": "Arrête {device}",
                "es": "Desconecta {device}",
                "it": "Disattiva {device}",
                "pt": "Desliga {device}",
                "hi": "{device} ऑफ़ कर दो",
            },
        ],
        "test": [
            {
                "en": "Shut off {device}",
                "de": "Stopp {device}",
                "fr": "Coupe {device}",
                "es": "Para {device}",
                "it": "Ferma {device}",
                "pt": "Pare {device}",
                "hi": "{device} रोक दो",
            },
        ],
    },
    # ----------------------------------------------------------------------------------------- navigation
    "nav_directions": {
        "domain": "navigation",
        "description": "get directions",
        "train": [
            {
                "en": "Navigate {destination}",
                "de": "Navigiere {destination}",
                "fr": "Guide-moi {destination}",
                "es": "Llévame {destination}",
                "it": "Portami {destination}",
                "pt": "Me leve {destination}",
                "hi": "मुझे {destination} ले चलो",
            },
            {
                "en": "How do I get {destination}?",
                "de": "Wie komme ich {destination}?",
                "fr": "Comment je vais {destination} ?",
                "es": "¿Cómo llego {destination}?",
                "it": "Come arrivo {destination}?",
                "pt": "Como eu chego {destination}?",
                "hi": "{destination} कैसे पहुँचूँ?",
            },
        ],
        "test": [
            {
                "en": "Show me how to get {destination}",
                "de": "Zeig mir den Weg {destination}",
                "fr": "Montre-moi comment aller {destination}",
                "es": "Muéstrame cómo ir {destination}",
                "it": "Mostrami come andare {destination}",
                "pt": "Me mostre o caminho {destination}",
                "hi": "{destination} का रास्ता दिखाओ",
            },
        ],
    },
    "nav_find": {
        "domain": "navigation",
        "description": "find a place nearby",
        "train": [
            {
                "en": "Find {place} nearby",
                "de": "Finde {place} in der Nähe",
                "fr": "Trouve {place} près d'ici",
                "es": "Busca {place} cerca de aquí",
                "it": "Trova {place} qui vicino",
                "pt": "Encontre {place} aqui perto",
                "hi": "पास में {place} ढूँढो",
            },
            {
                "en": "Where is {place}?",
                "de": "Wo ist {place}?",
                "fr": "Où est {place} ?",
                "es": "¿Dónde está {place}?",
                "it": "Dov'è {place}?",
                "pt": "Onde fica {place}?",
                "hi": "{place} कहाँ है?",
            },
        ],
        "test": [
            {
                "en": "Show me {place} on the map",
                "de": "Zeig mir {place} auf der Karte",
                "fr": "Montre-moi {place} sur la carte",
                "es": "Muéstrame {place} en el mapa",
                "it": "Mostrami {place} sulla mappa",
                "pt": "Me mostre {place} no mapa",
                "hi": "{place} मैप पर दिखाओ",
            },
        ],
    },
    # ------------------------------------------------------------------------------------------- payments
    "payment_send": {
        "domain": "payments",
        "description": "send money",
        "train": [
            {
                "en": "Send {amount} to {name}",
                "de": "Schick {name} {amount}",
                "fr": "Envoie {amount} à {name}",
                "es": "Envía {amount} a {name}",
                "it": "Manda {amount} a {name}",
                "pt": "Envie {amount} para {name}",
                "hi": "{name} को {amount} भेजो",
            },
            {
                "en": "Pay {name} {amount}",
                "de": "Überweise {name} {amount}",
                "fr": "Paie {amount} à {name}",
                "es": "Paga {amount} a {name}",
                "it": "Paga {amount} a {name}",
                "pt": "Pague {amount} para {name}",
                "hi": "{name} को {amount} का भुगतान करो",
            },
        ],
        "test": [
            {
                "en": "Transfer {amount} to {name}",
                "de": "Übertrag {amount} an {name}",
                "fr": "Vire {amount} à {name}",
                "es": "Transfiere {amount} a {name}",
                "it": "Trasferisci {amount} a {name}",
                "pt": "Transfira {amount} para {name}",
                "hi": "{name} के खाते में {amount} ट्रांसफ़र करो",
            },
        ],
    },
    # ----------------------------------------------------------------------------------------- restaurant
    "restaurant_book": {
        "domain": "restaurant",
        "description": "book a table",
        "train": [
            {
                "en": "Book a table for {party_size} people on {weekday} at {time}",
                "de": "Reservier einen Tisch für {party_size} Personen am {weekday} um {time}",
                "fr": "Réserve une table pour {party_size} personnes {weekday} à {time}",
                "es": "Reserva una mesa para {party_size} personas el {weekday} a las {time}",
                "it": "Prenota un tavolo per {party_size} persone {weekday} alle {time}",
                "pt": "Reserve uma mesa para {party_size} pessoas {weekday} às {time}",
                "hi": "{weekday} को {time} बजे {party_size} लोगों के लिए टेबल बुक करो",
            },
            {
                "en": "Get us a table for {party_size} at {time}",
                "de": "Besorg uns einen Tisch für {party_size} um {time}",
                "fr": "Trouve-nous une table pour {party_size} à {time}",
                "es": "Consíguenos una mesa para {party_size} a las {time}",
                "it": "Trovaci un tavolo per {party_size} alle {time}",
                "pt": "Arrume uma mesa para {party_size} às {time}",
                "hi": "{time} बजे {party_size} लोगों के लिए टेबल ढूँढो",
            },
        ],
        "test": [
            {
                "en": "Reserve dinner for {party_size} on {weekday}",
                "de": "Reserviere ein Abendessen für {party_size} am {weekday}",
                "fr": "Réserve un dîner pour {party_size} {weekday}",
                "es": "Reserva una cena para {party_size} el {weekday}",
                "it": "Prenota una cena per {party_size} {weekday}",
                "pt": "Reserve um jantar para {party_size} {weekday}",
                "hi": "{weekday} को {party_size} लोगों के लिए डिनर बुक करो",
            },
        ],
    },
}
