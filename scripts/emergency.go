package scripts

import "strings"

// emergencyPhrases are read in every reply, whatever the question: a patient who writes one is
// told to call 911 and an urgent item goes to the on-call clinician.
var emergencyPhrases = []string{
	// English
	"chest pain", "chest hurts", "chest is hurting", "chest pressure", "chest tightness", "pain in my chest",
	"heart attack", "can't breathe", "cant breathe", "cannot breathe", "can not breathe", "hard to breathe",
	"trouble breathing", "struggling to breathe", "stroke", "face drooping", "slurred speech",
	"can't speak", "cant speak", "passed out", "passing out", "fainted", "unconscious",
	"suicide", "suicidal", "kill myself", "end my life", "want to die", "better off dead", "hurt myself",
	"overdose", "overdosed", "coughing blood", "coughing up blood", "vomiting blood", "emergency", "911",
	// Spanish
	"dolor de pecho", "dolor en el pecho", "me duele el pecho", "presion en el pecho", "ataque al corazon",
	"infarto", "no puedo respirar", "me falta el aire", "me ahogo", "derrame", "embolia",
	"me desmaye", "desmayo", "suicidio", "suicidarme", "matarme", "quiero morir", "quitarme la vida",
	"hacerme dano", "sobredosis", "tos con sangre", "vomito sangre", "emergencia",
}

// EmergencyMessage is sent at once to a patient whose reply sounds like an emergency.
var EmergencyMessage = Text{
	English: "If this is an emergency, call 911 now. A nurse from your care team has been alerted. For thoughts of suicide, call or text 988.",
	Spanish: "Si es una emergencia, llame al 911 ahora. Una enfermera de su equipo de cuidado ha sido avisada. Si piensa en el suicidio, llame o envíe un texto al 988.",
}

// spacedEmergencyPhrases are the phrases folded and spaced once, as replies are matched.
var spacedEmergencyPhrases = func() []string {
	out := make([]string, len(emergencyPhrases))
	for i, p := range emergencyPhrases {
		out[i] = spaced(fold(p))
	}
	return out
}()

// Emergency reports whether a reply mentions an emergency symptom, in English or Spanish.
func Emergency(reply string) bool {
	text := spaced(fold(reply))
	for _, p := range spacedEmergencyPhrases {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}
