package ivr

import "github.com/outreach-engine/outreach/scripts"

// NurseAck ends a call in which the patient asked for a nurse.
var NurseAck = scripts.Text{
	scripts.English: "A nurse from your care team will call you back. Goodbye.",
	scripts.Spanish: "Una enfermera de su equipo de cuidado le devolverá la llamada. Adiós.",
}

// OptOutAck ends a call in which the patient asked to stop the calls.
var OptOutAck = scripts.Text{
	scripts.English: "You will not get these calls anymore. To start them again, call your care team. Goodbye.",
	scripts.Spanish: "Ya no recibirá estas llamadas. Para volver a recibirlas, llame a su equipo de cuidado. Adiós.",
}

// Dial911 follows an answer that sounds like an emergency.
var Dial911 = scripts.Text{
	scripts.English: "Please hang up now and dial 911.",
	scripts.Spanish: "Por favor, cuelgue ahora y marque el 911.",
}

// TryLater ends a call after repeated silence at the menu.
var TryLater = scripts.Text{
	scripts.English: "We will call you another time. Goodbye.",
	scripts.Spanish: "Le llamaremos en otro momento. Adiós.",
}

// Trouble ends a call the engine could not go on with.
var Trouble = scripts.Text{
	scripts.English: "Sorry, we are having a problem. Your care team will call you. Goodbye.",
	scripts.Spanish: "Perdón, estamos teniendo un problema. Su equipo de cuidado le llamará. Adiós.",
}

// What the package says besides the exported phrases; %s is the practice or the phone number.
var (
	careTeam  = scripts.Text{scripts.English: "your care team", scripts.Spanish: "su equipo de cuidado"}
	hello     = scripts.Text{scripts.English: "Hello, this is %s calling.", scripts.Spanish: "Hola, le llamamos de %s."}
	thisIs    = scripts.Text{scripts.English: "This is %s calling.", scripts.Spanish: "Le llamamos de %s."}
	notGotten = scripts.Text{scripts.English: "Sorry, I did not get that.", scripts.Spanish: "Perdón, no le escuché bien."}
	menuKeys  = scripts.Text{
		scripts.English: "To start your check-in, press 1 or say yes. For a nurse to call you back, press 0 or say nurse. To stop these calls, press 9 or say stop.",
		scripts.Spanish: "Para empezar su control, oprima 1 o diga sí. Para que una enfermera le devuelva la llamada, oprima 0 o diga enfermera. Para dejar de recibir estas llamadas, oprima 9 o diga parar.",
	}
	menuHints = map[scripts.Language][]string{
		scripts.English: {"yes", "start", "nurse", "stop"},
		scripts.Spanish: {"sí", "empezar", "enfermera", "parar"},
	}
	voicemail = scripts.Text{
		scripts.English: "Hello, this is %s calling for a routine check-in.",
		scripts.Spanish: "Hola, le llamamos de %s para un control de rutina.",
	}
	callBack     = scripts.Text{scripts.English: "Please call us back at %s.", scripts.Spanish: "Por favor, devuélvanos la llamada al %s."}
	thanks       = scripts.Text{scripts.English: "Thank you.", scripts.Spanish: "Gracias."}
	genericIntro = scripts.Text{
		scripts.English: "This is your check-in from your care team.",
		scripts.Spanish: "Este es su control de parte de su equipo de cuidado.",
	}

	notHeard      = scripts.Text{scripts.English: "Sorry, I did not hear an answer.", scripts.Spanish: "Perdón, no escuché su respuesta."}
	notUnderstood = scripts.Text{scripts.English: "Sorry, I did not understand.", scripts.Spanish: "Perdón, no le entendí."}
	sayIt         = scripts.Text{scripts.English: "You can also say your answer.", scripts.Spanish: "También puede decir su respuesta."}
	yes           = scripts.Text{scripts.English: "yes", scripts.Spanish: "sí"}
	pressYesNo    = scripts.Text{scripts.English: "Press 1 for yes, or 2 for no.", scripts.Spanish: "Oprima 1 para sí, o 2 para no."}
	pressChoice   = scripts.Text{scripts.English: "Press %d for %s.", scripts.Spanish: "Oprima %d para %s."}
	thenPound     = scripts.Text{scripts.English: "Then press the pound key.", scripts.Spanish: "Luego oprima la tecla de numeral."}
	enterNumber   = scripts.Text{
		scripts.English: "Enter the number on your keypad, then press the pound key.",
		scripts.Spanish: "Marque el número en su teclado y luego oprima la tecla de numeral.",
	}
	decimalStar = scripts.Text{
		scripts.English: "For a decimal point, press star.",
		scripts.Spanish: "Para el punto decimal, oprima la tecla de asterisco.",
	}
	enterScale = scripts.Text{
		scripts.English: "Enter a number from 0 to 10 on your keypad, then press the pound key.",
		scripts.Spanish: "Marque un número del 0 al 10 en su teclado y luego oprima la tecla de numeral.",
	}
	enterReading = scripts.Text{
		scripts.English: "Enter the top number, press star, then the bottom number, then press the pound key.",
		scripts.Spanish: "Marque el número de arriba, oprima la tecla de asterisco, luego el número de abajo, y oprima la tecla de numeral.",
	}
	tellUs = scripts.Text{scripts.English: "Say your answer in a few words.", scripts.Spanish: "Diga su respuesta en pocas palabras."}
)
