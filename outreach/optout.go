package outreach

import (
	"regexp"
	"strings"
	"unicode"
)

// OptOutIntent is what a reply says about receiving our texts and calls.
type OptOutIntent int

// Opt-out intents.
const (
	// OptOutNone: the reply is not a request to stop our messages: an answer ("no", "2"), a
	// health report, or a sentence that only contains the words ("I stopped my metformin",
	// "stop by the pharmacy", "please don't stop texting me").
	OptOutNone OptOutIntent = iota
	// OptOutClear: the reply asks, beyond doubt, that we stop texting or calling this number
	// ("don't text me anymore", "ya no me manden mensajes", and every carrier STOP keyword).
	OptOutClear
	// OptOutDoubtful: the reply may be asking to stop our messages but does not clearly say so
	// ("who is this, stop", "leave me alone", "stop texting me at night"): a human decides.
	OptOutDoubtful
)

// String names the intent.
func (i OptOutIntent) String() string {
	switch i {
	case OptOutNone:
		return "none"
	case OptOutClear:
		return "clear"
	case OptOutDoubtful:
		return "doubtful"
	}
	return "unknown"
}

// ClassifyOptOut reads a whole reply, in English or Spanish, as a request to stop our texts.
//
// Every message ClassifyKeyword reads as KeywordStop is OptOutClear here too, so a caller may
// ask ClassifyOptOut alone whether a reply opts out. Beyond the keywords, a reply is Clear when
// one of its sentences is a plain request to stop texting, calling or contacting the patient,
// to unsubscribe or to be removed, and nothing else in it narrows or reverses that request (a
// time, "but", "call me instead", a relative, a death, "just kidding"). A bare STOP beside
// anything but courtesies and reasons ("not interested", "wrong number") is Doubtful, as is
// any other talk of stopping our messages. A reply that asks us to go on ("please don't stop
// texting me") or corrects an answer ("wrong number, I meant 7") is not an opt-out.
func ClassifyOptOut(body string) OptOutIntent {
	clauses := optOutClauses(body)
	var all []string
	for _, c := range clauses {
		all = append(all, c...)
	}
	if keywords[strings.Join(all, " ")] == KeywordStop {
		return OptOutClear
	}
	if k := strings.Join(dropCourtesy(all), " "); keywords[k] == KeywordStop && !everyday[k] {
		return OptOutClear
	}
	var clear, stop, keep, cue, other, narrowed bool
	for _, words := range clauses {
		words = dropCourtesy(words)
		c := strings.Join(words, " ")
		switch {
		case c == "":
		case keepRequests.match(words, c):
			keep = true
		case clearRequests.match(words, c):
			clear = true
		case bareStop.MatchString(c):
			stop = true
		case optOutReason.MatchString(c):
			cue = true
		default:
			other = true
			cue = cue || optOutCues.match(words, c)
			narrowed = narrowed || narrowing.in(words, c)
		}
	}
	switch {
	case keep && (clear || stop):
		return OptOutDoubtful
	case keep:
		return OptOutNone
	case clear && !narrowed, stop && !other:
		return OptOutClear
	case clear, stop, cue:
		return OptOutDoubtful
	}
	return OptOutNone
}

// everyday are the STOP keywords with everyday meanings: alone they opt out, as carriers read
// them, but "cancel please" may be about an appointment.
var everyday = map[string]bool{"cancel": true, "cancelar": true, "end": true, "quit": true}

// optOutClauses splits a reply into sentences of canonical words: lower case without accents
// or apostrophes ("Don’t" → "dont", "envíen" → "envien"), letters repeated for emphasis kept
// once ("stooop" → "stop"), SMS spellings made whole ("pls", "txt", "msgs", "msj"), and a few
// two-word forms joined ("do not" → "dont", "por favor" → "please").
func optOutClauses(body string) [][]string {
	var clauses [][]string
	var words []string
	var w []rune
	endWord := func() {
		if len(w) > 0 {
			words = append(words, canonicalWord(w)...)
			w = w[:0]
		}
	}
	endClause := func() {
		endWord()
		if len(words) > 0 {
			clauses = append(clauses, joinPairs(words))
			words = nil
		}
	}
	for _, r := range body {
		r = unicode.ToLower(unicode.ToUpper(r))
		if f, ok := accents[r]; ok {
			r = f
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			w = append(w, r)
		case unicode.Is(unicode.Mn, r) || r == '\'' || r == '`' || r == '´':
			// combining accents and apostrophes join the word they are in
		case strings.ContainsRune(".!?;,:¡¿…–—\n\r", r), r == '-' && len(w) == 0:
			endClause()
		case r == '&':
			endWord()
			words = append(words, "and")
		default:
			endWord()
		}
	}
	endClause()
	return clauses
}

// accents folds accented letters and typographic apostrophes.
var accents = map[rune]rune{
	'á': 'a', 'à': 'a', 'ä': 'a', 'â': 'a', 'é': 'e', 'è': 'e', 'ë': 'e', 'ê': 'e',
	'í': 'i', 'ì': 'i', 'ï': 'i', 'î': 'i', 'ó': 'o', 'ò': 'o', 'ö': 'o', 'ô': 'o',
	'ú': 'u', 'ù': 'u', 'ü': 'u', 'û': 'u', 'ñ': 'n', '’': '\'', '‘': '\'',
}

// canonicalWord collapses letters repeated three times or more and spells the word as the
// patterns do.
func canonicalWord(w []rune) []string {
	out := make([]rune, 0, len(w))
	for i := 0; i < len(w); {
		j := i + 1
		for j < len(w) && w[j] == w[i] {
			j++
		}
		if j-i >= 3 {
			out = append(out, w[i])
		} else {
			out = append(out, w[i:j]...)
		}
		i = j
	}
	s := string(out)
	if c, ok := spellings[s]; ok {
		return strings.Fields(c)
	}
	return []string{s}
}

// spellings are the SMS spellings of the words the patterns use.
var spellings = map[string]string{
	"pls": "please", "plz": "please", "plse": "please", "pleas": "please", "pleez": "please", "plez": "please",
	"pleaze": "please", "pleasee": "please", "plis": "please", "pliz": "please", "pliss": "please",
	"porfa": "please", "porfavor": "please", "xfa": "please", "xfavor": "please",
	"thx": "thanks", "thanx": "thanks", "thnx": "thanks", "tnx": "thanks", "ty": "thanks", "tysm": "thanks",
	"u": "you", "yu": "you", "yall": "you", "ur": "your", "r": "are",
	"dnt": "dont", "wanna": "want to", "whos": "who is", "dis": "this", "cannot": "cant", "dammit": "damn it",
	"txt": "text", "txts": "texts", "textes": "texts", "txting": "texting", "txtin": "texting",
	"textin": "texting", "texing": "texting", "textn": "texting", "txtn": "texting", "txtng": "texting",
	"textng": "texting", "textting": "texting",
	"msg": "message", "mssg": "message", "mesage": "message", "messege": "message", "mesg": "message",
	"msgs": "messages", "mssgs": "messages", "mesages": "messages", "messeges": "messages",
	"msges": "messages", "messags": "messages", "mesgs": "messages", "msging": "messaging",
	"stp": "stop", "stopp": "stop", "stopit": "stop it",
	"anymor": "anymore", "nomore": "no more",
	"unsub": "unsubscribe", "unsuscribe": "unsubscribe", "unsubcribe": "unsubscribe",
	"unsubscibe": "unsubscribe", "unsubsribe": "unsubscribe", "unscribe": "unsubscribe",
	"unsubscrib": "unsubscribe", "optout": "opt out",
	"msj": "mensajes", "msjs": "mensajes", "mensages": "mensajes", "mensage": "mensaje",
	"mensajitos": "mensajes", "embien": "envien", "enbien": "envien", "emvien": "envien",
	"xq": "por que", "pq": "por que", "porq": "por que", "porque": "por que",
}

// joinPairs joins the two-word forms the patterns spell as one.
func joinPairs(words []string) []string {
	out := words[:0]
	for i := 0; i < len(words); i++ {
		if i+1 < len(words) {
			if j, ok := pairs[[2]string{words[i], words[i+1]}]; ok {
				out = append(out, j)
				i++
				continue
			}
		}
		out = append(out, words[i])
	}
	return out
}

// pairs are the two-word forms joined, and what they become.
var pairs = map[[2]string]string{
	{"do", "not"}: "dont", {"did", "not"}: "didnt", {"does", "not"}: "doesnt", {"will", "not"}: "wont",
	{"can", "not"}: "cant", {"i", "am"}: "im", {"any", "more"}: "anymore", {"thank", "you"}: "thanks",
	{"por", "favor"}: "please", {"x", "favor"}: "please", {"por", "fa"}: "please",
	{"muchas", "gracias"}: "gracias", {"many", "thanks"}: "thanks",
	{"good", "morning"}: "hello", {"good", "afternoon"}: "hello", {"good", "evening"}: "hello",
	{"good", "night"}: "bye", {"buenos", "dias"}: "hola", {"buen", "dia"}: "hola",
	{"buenas", "tardes"}: "hola", {"buenas", "noches"}: "hola", {"god", "bless"}: "thanks",
}

// courtesies say nothing about what the reply asks.
var courtesies = map[string]bool{
	"please": true, "thanks": true, "gracias": true, "ok": true, "okay": true, "hi": true, "hey": true,
	"hello": true, "hola": true, "bye": true, "goodbye": true, "adios": true, "sir": true, "maam": true,
	"madam": true, "kindly": true, "sorry": true, "perdon": true, "disculpe": true, "lol": true,
}

// dropCourtesy returns the words without courtesies ("please and thank you"), in place.
func dropCourtesy(words []string) []string {
	out := words[:0]
	for i, w := range words {
		if !courtesies[w] && (w != "and" || i+1 == len(words) || !courtesies[words[i+1]]) {
			out = append(out, w)
		}
	}
	return out
}

// A rule is a pattern on a sentence of canonical words joined by single spaces. It can only
// match a sentence that holds one of its words, which pick the few rules worth running.
type rule struct {
	words, pattern string
}

// rules are patterns indexed by their words.
type rules struct {
	patterns []*regexp.Regexp
	byWord   map[string][]int
}

// newRules compiles patterns that must match a whole sentence (whole) or a run of whole words
// in it.
func newRules(whole bool, rs ...rule) rules {
	out := rules{byWord: map[string][]int{}}
	for i, r := range rs {
		p := `(?:^| )(?:` + r.pattern + `)(?: |$)`
		if whole {
			p = `^(?:` + r.pattern + `)$`
		}
		out.patterns = append(out.patterns, regexp.MustCompile(p))
		for _, w := range strings.Fields(r.words) {
			out.byWord[w] = append(out.byWord[w], i)
		}
	}
	return out
}

// match reports whether a rule matches the sentence of these words, running each rule that
// its words pick once.
func (rs rules) match(words []string, sentence string) bool {
	var tried []bool
	for _, w := range words {
		for _, i := range rs.byWord[w] {
			if tried == nil {
				tried = make([]bool, len(rs.patterns))
			}
			if tried[i] {
				continue
			}
			tried[i] = true
			if rs.patterns[i].MatchString(sentence) {
				return true
			}
		}
	}
	return false
}

// Fragments of the patterns below.
const (
	enNoun  = `(?:text messages?|texts?|messages?|sms|reminders?|notifications?|alerts?)`
	enDet   = `(?:(?:all|any|of|the|these|this|those|your|anymore|more|automated|automatic|daily|weekly|damn|dang|darn|fucking|freaking|frickin|stupid|annoying|stinking) )*`
	enTo    = `(?: (?:to )?(?:me|us|this number|my number|my phone number|my phone|my cell|my cell phone|this phone))?`
	enMore  = `(?: (?:anymore|any longer|again|ever again|no more|now|right now|already|asap|immediately|for good|forever|period|at all|either|too|ever|i mean it|seriously|for real|damn it|goddamn it))*`
	enLead  = `(?:(?:just|simply|now|so|and|then|again|seriously|omg|yo|dude|man|i said|i already said|i told you|i already told you|for the last time|one more time) )*`
	enAsk   = `(?:(?:can|could|would|will) you |you (?:can|need to|have to|should|must|better) |i (?:need|want|would like|wish|ask|asked|told|already asked|already told) you to |id like you to |im asking you to |i said to |i told you to )?`
	enWant  = `(?:i (?:want|would like|wish|need) to |id like to )?`
	enPlace = `(?:list|lists|texting list|text list|messaging list|contact list|contacts|mailing list|system|database|program|service|texts|messages|this|these|it|here|everything|all)`

	esNoun = `(?:mensajes(?: de texto)?|mensaje(?: de texto)?|textos|texto|sms|recordatorios|notificaciones|alertas|llamadas)`
	esDet  = `(?:(?:los|las|estos|estas|esos|esas|sus|tus|mas|ningun|ninguno|ninguna|ningunos|nada de|todos|todas|el|la|un|una|tantos) )*`
	esTo   = `(?: (?:a este numero|a mi numero|a mi telefono|a mi celular|a este telefono|aqui|a mi))?`
	esMore = `(?: (?:mas|ya|ya mas|nunca mas|nunca|jamas|de nuevo|otra vez|para nada|nada|a este numero|a mi numero|a mi telefono|a mi celular))*`
	esLead = `(?:(?:ya|y|pues|oiga|oigan|senor|senora|favor de|quiero que|necesito que|les pido que|le pido que|les dije que|le dije que|ya les dije que|ya le dije que) )*`
	esSend = `(?:manden|mande|mandes|envien|envie|envies|escriban|escriba|escribas|texteen|textee|textees|contacten|contacte|contactes|llamen|llame|llames)`
	esInf  = `(?:mandar|enviar|escribir|textear|contactar|llamar)(?:me|nos)?`

	esSendWords   = `manden mande mandes envien envie envies escriban escriba escribas texteen textee textees contacten contacte contactes llamen llame llames`
	esRemoveWords = `quitenme quiteme quitame sacenme saceme sacame saquenme saqueme borrenme borreme borrame eliminenme elimineme eliminame`
)

var (
	// clearRequests are sentences that plainly ask us to stop messaging this number.
	clearRequests = newRules(true,
		// English: stop texting me; stop sending me these texts; stop the texts.
		rule{"stop quit cease", enLead + enAsk + `(?:stop|quit|cease) (?:texting|messaging|contacting|calling|spamming)(?: (?:and|or) (?:texting|messaging|calling|contacting|emailing))?` + enTo + `(?: with ` + enDet + enNoun + `)?` + enMore},
		rule{"stop quit cease", enLead + enAsk + `(?:stop|quit|cease) sending(?: me| us)?(?: ` + enDet + enNoun + `| (?:(?:these|this|those|that) )?(?:these|this|those|them|that|stuff|things|anything|junk|spam|crap|shit|garbage|nonsense|bs|bullshit))?` + enTo + enMore},
		rule{"stop quit", enLead + enAsk + `(?:stop|quit) with ` + enDet + enNoun + enMore},
		rule{"stop quit cease end cancel turn shut unsubscribe opt", enLead + enAsk + enWant + `(?:stop|quit|cease|end|cancel|turn off|shut off|unsubscribe me from|unsubscribe from|opt out of) ` + enDet + enNoun + enTo + enMore},
		rule{"stop quit", enLead + enWant + `(?:stop|quit) (?:getting|receiving) ` + enDet + enNoun + enMore},
		// don't text me anymore; do not contact me; don't send me any more texts.
		rule{"dont never", enLead + `(?:dont|never) (?:ever )?(?:text|message|contact|call|sms|call or text|text or call|text and call|call and text)(?: me| us| this number| my number| my phone| my cell)?` + enMore},
		rule{"dont never", enLead + `(?:dont|never) (?:ever )?send (?:me |us )?(?:any |anymore |more |any more )?` + enDet + enNoun + enTo + enMore},
		// no more texts.
		rule{"no", enLead + `(?:i want )?no (?:more )?(?:text messages|texts|text|messages|message|sms|reminders|notifications|calls or texts|texts or calls|texts and calls|calls and texts|calls)(?: (?:to|for) (?:me|this number|my number))?` + enMore},
		// I don't want these texts; I don't want you to text me; I don't want to be contacted.
		rule{"dont longer never", enLead + `(?:i )?(?:dont|no longer|never) (?:want|wish) (?:to (?:get|receive|be getting|be receiving|have) )?` + enDet + enNoun + `(?: from you)?` + enMore},
		rule{"dont longer never", enLead + `(?:i )?(?:dont|no longer|never) (?:want|wish) (?:you |anyone )?to (?:text|message|contact|call)(?: me| this number| my number| my phone)?` + enMore},
		rule{"dont longer never", enLead + `(?:i )?(?:dont|no longer|never) (?:want|wish) to be (?:texted|contacted|messaged|called)` + enMore},
		rule{"consent", enLead + `(?:i )?(?:dont|no longer|never) consent to (?:` + enDet + enNoun + `|being (?:texted|contacted|messaged|called))` + enMore},
		// unsubscribe me; opt me out; I revoke my consent.
		rule{"unsubscribe opt revoke withdraw subscription", enLead + `(?:i )?(?:want to |would like to |wish to |need to |id like to |hereby )?(?:unsubscribe|opt out|revoke (?:my )?consent|withdraw (?:my )?consent|cancel (?:my )?subscription)(?: me)?(?: (?:from|of|to|for) (?:` + enDet + `(?:` + enNoun + `|list|this|these|service|program|everything|texting)))?` + enMore},
		rule{"opt", enLead + `opt (?:me|us|this number|my number) out(?: of ` + enDet + `(?:` + enNoun + `|list|this|these|everything|texting))?` + enMore},
		rule{"opting unsubscribing", enLead + `(?:im|we are|were) (?:opting out|unsubscribing)` + enMore},
		// remove me from the list; take me off your list; lose my number.
		rule{"remove delete erase", enLead + enAsk + enWant + `(?:remove|delete|erase) (?:me|my number|my phone number|my phone|this number|my cell|my name|my info)(?: (?:off|from|out of) (?:of )?` + enDet + enPlace + `)?` + enMore},
		rule{"take drop get", enLead + enAsk + enWant + `(?:take|drop|get) (?:me|my number|my phone number|this number|my name) (?:off|out of|from) (?:of )?` + enDet + enPlace + enMore},
		rule{"lose", enLead + enAsk + `lose my number` + enMore},
		rule{"removed taken unsubscribed deleted", enLead + `(?:i )?(?:want|would like|need|wish|ask) to be (?:removed|taken off|unsubscribed|deleted)(?: (?:from|off) (?:of )?` + enDet + enPlace + `)?` + enMore},

		// Spanish: ya no me manden mensajes; no me vuelvan a escribir.
		rule{"no nunca jamas", esLead + `(?:ya )?(?:no|nunca|jamas) (?:me |nos )?(?:` + esSend + `|(?:vuelvan|vuelva|vuelvas) a ` + esInf + `)(?: (?:mas|nada|ya|nunca mas))?(?: ` + esDet + esNoun + `)?` + esTo + esMore},
		// dejen de escribirme; paren de mandarme mensajes.
		rule{"dejen deje dejes dejar paren pare pares parar terminen termine", esLead + `(?:ya )?(?:dejen|deje|dejes|dejar|paren|pare|pares|parar|terminen|termine) de ` + esInf + `(?: ` + esDet + esNoun + `)?` + esTo + esMore},
		// paren los mensajes; no más mensajes; no quiero recibir más mensajes.
		rule{"paren pare parar detengan detenga detener cancelen cancele cancelar suspendan suspenda suspender quiten quite quitar basta nada no ningun ni quiero deseo alto",
			esLead + `(?:ya )?(?:alto a|paren|pare|parar|detengan|detenga|detener|cancelen|cancele|cancelar|suspendan|suspenda|suspender|quiten|quite|quitar|basta de|nada de|no mas|ningun|ni un|no quiero|no deseo|no quiero recibir|no deseo recibir|no quiero seguir recibiendo|no deseo seguir recibiendo|quiero dejar de recibir|deseo dejar de recibir) ` + esDet + esNoun + esTo + esMore},
		// no quiero que me manden mensajes.
		rule{"no", esLead + `(?:ya )?no (?:quiero|deseo|queremos) que me (?:sigan |vuelvan a )?(?:` + esSend + `|mandando|enviando|escribiendo|texteando|contactando|llamando|` + esInf + `)(?: (?:mas|nada))?(?: ` + esDet + esNoun + `)?` + esTo + esMore},
		// denme de baja; quiero darme de baja; cancelar suscripción.
		rule{"baja", esLead + `(?:quiero |me quiero |quisiera |necesito |deseo )?(?:darme|dar|me doy|denme|dame|deme|me dan|me pueden dar|pueden darme|puede darme|me da) de baja(?: (?:de|del|en) ` + esDet + `(?:` + esNoun + `|lista|servicio|programa|sistema|esto|todo))?` + esMore},
		rule{"baja", esLead + `(?:quiero |solicito |pido )(?:la|mi) baja(?: (?:de|del) ` + esDet + `(?:` + esNoun + `|lista|servicio|programa|esto|todo))?` + esMore},
		rule{"suscripcion", esLead + `(?:quiero )?(?:cancelar|cancelen|cancelo|cancela) (?:mi |la )?suscripcion` + esMore},
		// sáquenme de la lista; borren mi número.
		rule{esRemoveWords, esLead + `(?:` + strings.ReplaceAll(esRemoveWords, " ", "|") + `) de (?:la |su |sus |esta |las |tu )?(?:lista|listas|sistema|base de datos|mensajes|aqui|esto)` + esMore},
		rule{"numero", esLead + `(?:quiero )?(?:que )?(?:borren|eliminen|quiten|saquen|borre|elimine|quite|saque) mi numero(?: de (?:la |su |sus |esta )?(?:lista|listas|sistema|base de datos))?` + esMore},
	)

	// keepRequests ask us to go on texting ("don't stop", "sigan mandando"), or correct an
	// answer ("wrong number, I meant 7").
	keepRequests = newRules(false,
		rule{"dont never", `(?:dont|never) (?:you )?(?:ever )?stop`},
		rule{"dont never", `(?:dont|never) want (?:you |them |it |the texts |these |this |the messages )?to stop`},
		rule{"keep", `(?:^|(?:you can|you should|i want you to|i need you to) )keep (?:texting|sending|messaging|the texts|the messages|them coming|the reminders)`},
		rule{"continue", `continue (?:texting|sending|messaging|to text|to send|the texts|the messages)`},
		rule{"like love enjoy appreciate need", `i (?:like|love|enjoy|appreciate|need) (?:the|these|your|getting the|getting these|getting your) (?:texts|messages|reminders|check ins)`},
		rule{"still", `still want (?:the|these|your|to get|to receive)`},
		rule{"want", `want to (?:keep|continue) (?:getting|receiving)`},
		rule{"didnt", `didnt mean (?:to )?(?:say )?stop`},
		rule{"dont never", `(?:dont|never) (?:unsubscribe|remove|delete|opt out) (?:me|my|this)`},
		rule{"dejen deje dejes paren pare pares dejar parar", `no (?:me |nos )?(?:dejen|deje|dejes|paren|pare|pares|dejar|parar) de ` + esInf},
		rule{"meant typo", `meant (?:to (?:say|type|put|write) )?[0-9]+|typo`},
		rule{"sigan siga sigas", `sig(?:an|a|as) (?:mandando|enviando|escribiendo|texteando)`},
		rule{"seguir", `quiero seguir recibiendo`},
		rule{"gustan", `me gustan (?:los|sus|estos) (?:mensajes|textos|recordatorios)`},
		rule{"quiero", `no quiero (?:dejar de recibir|que (?:dejen|paren) de)`},
	)

	// optOutCues are talk of stopping our messages that is not a plain request.
	optOutCues = newRules(false,
		rule{"stop quit cease stopping quitting", `(?:stop|quit|cease|stopping|quitting) (?:(?:the|these|this|those|all|your|any) )*(?:texting|messaging|sending|contacting|calling|texts?|messages?|sms|reminders?|notifications?|alerts?|calls?|spamming|bothering|harassing|bugging|pestering|getting|receiving)`},
		rule{"stop quit", `^(?:stop|quit) (?:it|this|that|these|them)|stop asking`},
		rule{"enough", `enough with`},
		rule{"consent", `consent`},
		rule{"turn", `turn (?:these|this|them|it) off`},
		rule{"out blocked cancel", `^(?:i want out|blocked|i want to cancel)$`},
		rule{"stop end", `(?:(?:make|let) (?:it|this|these|them|the texts|the messages)|texts|messages|calls|reminders|these|them|it all)(?: to)? (?:stop|end)`},
		rule{"unsubscribe unsubscribed unsubscribing revoke revoking stopall", `unsubscribe|unsubscribed|unsubscribing|revoke|revoking|stopall`},
		rule{"opt opted opting", `opt out|opted out|opting out`},
		rule{"remove delete take lose", `remove me|remove my|delete my|take me off(?: (?:the|your|this) (?:list|texts|messages))?$|take my number|lose my number`},
		rule{"more enough quit cancel end cancelar parar remove delete", `^(?:no more|enough|enough already|i quit|cancel|end|quit|cancelar|parar|remove|delete)$`},
		rule{"paren pare para", `^(?:ya )?(?:paren|pare|para ya|ya para)(?: ya)?$`},
		rule{"who", `who (?:is |are )?(?:this|you|texting|messaging|sending|that)`},
		rule{"did", `(?:how|where) did you get (?:my|this) (?:number|phone|cell)`},
		rule{"why", `why (?:do |are |does |did |is |would |the hell )?(?:you|this|someone|somebody|this number|they|i) (?:keep |keeps |always |still )?(?:texting|messaging|sending|contacting|calling|text|message|bother|bothering|getting|receiving)`},
		rule{"keep", `keep (?:texting|messaging|sending|calling|contacting|bugging|bothering) me`},
		rule{"many", `(?:too|so) many (?:texts|messages|calls|reminders|notifications)`},
		rule{"how", `how (?:do|can|to|would|could) (?:i )?(?:stop|unsubscribe|opt out|get off|be removed|get removed|make (?:this|it|these|them) stop|turn (?:this|these|them|it) off|cancel)`},
		rule{"leave", `leave me (?:alone|be)`},
		rule{"dont", `dont want (?:this|these|that|it|them|any of this)$|dont want (?:to (?:get|receive) )?` + enDet + enNoun + `|dont (?:text|message|contact|call|send)`},
		rule{"dont longer", `(?:dont|no longer) (?:need|want) (?:the |these |this |your |any )?(?:texts?|messages?|reminders?|check ins?|this service|this program|calls?)`},
		rule{"interested", `(?:not|no longer) interested`},
		rule{"spam scam annoying bother bothering bugging harass harassing harassment harassed", `spam|scam|annoying|bother(?:ing)? me|bugging me|harass|harassing|harassment|harassed`},
		rule{"wrong", `wrong (?:number|person)`},
		rule{"patient", `(?:not (?:a|your|the)|no longer (?:a |your )?) patient`},
		rule{"never didnt", `(?:never|didnt) (?:sign(?:ed)? up|agree|agreed|consent|consented|ask(?:ed)? for)`},
		rule{"away done", `go away|im done|done with (?:this|these|you|the texts|texts)`},
		rule{"block blocking blocked report reporting", `block(?:ing|ed)? (?:you|this|your)|report(?:ing)? (?:you|this)`},
		rule{"sue lawyer attorney fcc ftc dnc", `sue (?:you|your)|lawyer|attorney|fcc|ftc|dnc`},
		rule{"more", `no more (?:texts?|messages?|calls?|reminders?)`},
		rule{"cancel", `cancel (?:the |these |this |my |all |your )?(?:texts?|messages?|subscription|reminders?|service|program|this|it|everything|all)`},
		rule{"texts text messages", `no (?:texts?|messages)`},

		rule{"quien quienes", `quien(?:es)? (?:es|eres|son|habla|me escribe|me manda|me envia|me esta escribiendo|manda esto)`},
		rule{"donde", `de donde (?:sacaron|saco|tienen|obtuvieron|consiguieron) mi numero`},
		rule{"mandan manda envian envia escriben escribe llaman llama mandando enviando escribiendo llamando molestan molesta",
			`por que (?:me )?(?:siguen |sigue )?(?:mandan|manda|envian|envia|escriben|escribe|llaman|llama|mandando|enviando|escribiendo|llamando|molestan|molesta)`},
		rule{"tantos muchos demasiados", `(?:tantos|muchos|demasiados) (?:mensajes|textos|llamadas)`},
		rule{"dejenme dejame dejeme molesten moleste molestes", `dej(?:en|a|e)me en paz|no (?:me )?molest(?:en|e|es)`},
		rule{"molestar molestarme molestarnos", `de molestar(?:me|nos)?`},
		rule{"quiero deseo necesito", `no quiero (?:esto|eso|estos|esos|nada)|(?:no|ya no) (?:quiero|deseo|necesito) (?:(?:recibir|mas|los|sus|estos|esos) )*(?:mensajes|textos|recordatorios)|no (?:quiero|deseo) que me (?:sigan |vuelvan a )?(?:` + esSend + `|mandando|enviando|escribiendo|llamando|` + esInf + `)|^(?:quiero|necesito|deseo) cancelar$`},
		rule{"interesa", `no me interesa`},
		rule{"basta", `basta`},
		rule{"mas", `^(?:ya )?no mas$|no mas (?:mensajes|textos|llamadas)`},
		rule{"ya", `^ya no(?: quiero)?$`},
		rule{"equivocado equivocada equivocados equivocadas", `numero equivocado|equivocad[oa]s? de numero`},
		rule{"doy puedo dejo cancelo salgo salir paro quito detengo", `como (?:me )?(?:doy|puedo|dejo|cancelo|salgo|salir|paro|quito|detengo)`},
		rule{"baja", `de baja`},
		rule{"cancelar cancelen cancele cancelo cancela", `cancel(?:ar|en|e|o|a) (?:los |estos |mis |sus |el |la |mi )?(?:mensajes|textos|suscripcion|servicio|programa|esto|todo)`},
		rule{"paciente", `no soy (?:su )?paciente`},
		rule{esSendWords, `no (?:me |nos )?` + esSend},
		rule{"dejen deje dejes paren pare pares dejar parar", `(?:dejen|deje|dejes|paren|pare|pares|dejar|parar) de ` + esInf},
		rule{esRemoveWords, `(?:` + strings.ReplaceAll(esRemoveWords, " ", "|") + `) de`},
		rule{"nunca autorice estafa", `nunca (?:me )?(?:registre|inscribi|acepte)|no autorice|estafa`},
	)

	// bareStop is a sentence that is only STOP, maybe repeated or insisted on ("stop stop",
	// "I said stop", "stop now").
	bareStop = regexp.MustCompile(`^(?:(?:i said|i already said|i told you|i told you to|already said|ya|just|now|seriously|again|dude|omg|yo) )*(?:stop|stopall|stop all|unsubscribe|opt out|revoke|parar)(?: (?:stop|stopall|unsubscribe|now|right now|already|asap|immediately|for good|period|ya|again))*$`)

	// optOutReason is a sentence that gives a reason for stopping and asks nothing else.
	optOutReason = regexp.MustCompile(`^(?:` + strings.Join([]string{
		`(?:im )?(?:not|no longer) interested(?: (?:anymore|at all))?`,
		`(?:this is |you have |youve got |you got )?(?:the |a )?wrong (?:number|person)`,
		`(?:im )?(?:not (?:a|your|the)|no longer (?:a |your )?) patient(?: (?:anymore|there|here))?`,
		`i (?:dont|no longer) need (?:this|these|them|it)(?: anymore)?`,
		`(?:ya )?no me interesa(?: mas)?`, `numero equivocado`, `se equivocaron de numero`,
		`(?:ya )?no soy (?:su )?paciente`,
	}, "|") + `)$`)
)

// narrowing are the words that, beside a request, narrow or reverse it: a time, a condition,
// talk of texts or calls ("don't call, just text"), another language or person, a death, a
// joke. The request then goes to a human.
var narrowing = phrases(`
	if unless when whenever until till til before after today tonight tomorrow tmrw tmr
	this_week this_weekend weekend weekends morning mornings night nights evening evenings early late later
	so_much so_often so_many too_much too_many too_often every_day everyday all_the_time
	for_now for_a_while for_a_bit for_a_few for_the_day for_the_week for_the_month busy at_work working
	driving sleeping asleep vacation traveling travelling hospital instead only just_the except but
	email e_mail mail letter english spanish language kidding jk joke joking
	daughter daughters my_son his_son her_son your_son sons wife wifes husband husbands mom moms mother
	mothers mum dad dads father fathers caregiver caregivers sister sisters brother brothers grandson
	granddaughter grandma grandpa niece nephew nurse doctor
	text texts texting message messages messaging call calls calling phone whatsapp
	passed died dead deceased death funeral less fewer another_number other_number new_number
	different_number landline
	cuando hasta antes despues luego hoy manana mananas esta_semana fin_de_semana noche noches madrugada
	temprano tarde tardes por_ahora por_el_momento por_un_tiempo ahorita ocupado ocupada trabajando trabajo
	manejando durmiendo vacaciones viaje viajando en_vez en_lugar mejor solo solamente nada_mas excepto
	menos pero llamenme llameme llamame escribanme mandenme envienme correo carta ingles espanol idioma
	broma bromeando jugando hija hijo hijos esposa esposo mama papa madre padre hermana hermano nieta nieto
	sobrina sobrino cuidador cuidadora enfermera doctora medico fallecio murio muerto muerta difunto difunta
	fallecido fallecida otro_numero nuevo_numero tantos tanto demasiados seguido diario todos_los_dias cada
	mensaje mensajes texto textos llamada llamadas llamar llamen llame telefono celular`)

// phraseSet holds phrases of a few words.
type phraseSet struct {
	set      map[string]bool
	maxWords int
}

// phrases reads a list of phrases whose words are joined by underscores.
func phrases(list string) phraseSet {
	p := phraseSet{set: map[string]bool{}}
	for _, f := range strings.Fields(list) {
		w := strings.Split(f, "_")
		p.set[strings.Join(w, " ")] = true
		p.maxWords = max(p.maxWords, len(w))
	}
	return p
}

// in reports whether the sentence of these words holds one of the phrases.
func (p phraseSet) in(words []string, sentence string) bool {
	start := 0
	for i := range words {
		end := start
		for j := i; j < len(words) && j < i+p.maxWords; j++ {
			end += len(words[j])
			if p.set[sentence[start:end]] {
				return true
			}
			end++ // the space after the word
		}
		start += len(words[i]) + 1
	}
	return false
}
