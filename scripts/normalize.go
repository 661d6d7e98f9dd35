package scripts

import (
	"strings"
	"unicode"
)

// fold lower-cases s, strips accents (sí → si, ñ → n), turns punctuation and emoji other than
// the ones answers use into spaces, and collapses spaces.
func fold(s string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		if f, ok := accents[r]; ok {
			r = f
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '/' || r == '.' || r == '-' || r == '\'' || r == ',':
			b.WriteRune(r)
			space = false
		case emojiWords[r] != "":
			if !space {
				b.WriteByte(' ')
			}
			b.WriteString(emojiWords[r])
			b.WriteByte(' ')
			space = true
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

var accents = map[rune]rune{
	'á': 'a', 'à': 'a', 'ä': 'a', 'â': 'a', 'é': 'e', 'è': 'e', 'ë': 'e', 'ê': 'e',
	'í': 'i', 'ì': 'i', 'ï': 'i', 'î': 'i', 'ó': 'o', 'ò': 'o', 'ö': 'o', 'ô': 'o',
	'ú': 'u', 'ù': 'u', 'ü': 'u', 'û': 'u', 'ñ': 'n', '’': '\'', '‘': '\'',
}

// emojiWords reads the emoji patients answer with.
var emojiWords = map[rune]string{
	'👍': "yes", '✅': "yes", '✔': "yes", '☑': "yes", '👌': "yes",
	'👎': "no", '❌': "no", '✖': "no", '🚫': "no",
}

// words splits folded text into words, trimming the punctuation kept by fold at their ends.
func words(folded string) []string {
	var out []string
	for _, w := range strings.Fields(folded) {
		if w = strings.Trim(w, ".,'-/"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// spaced returns the words of folded text between single spaces, with a space at each end:
// the form in which a phrase is found as whole words by strings.Contains.
func spaced(folded string) string { return " " + strings.Join(words(folded), " ") + " " }

// containsPhrase reports whether the folded text holds the phrase as whole words.
func containsPhrase(text, phrase string) bool {
	p := spaced(fold(phrase))
	return strings.TrimSpace(p) != "" && strings.Contains(spaced(text), p)
}
