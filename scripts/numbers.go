package scripts

import (
	"regexp"
	"strconv"
	"strings"
)

// numberWords are the words of numbers up to the hundreds, in English and Spanish.
var numberWords = map[string]int{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
	"fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
	"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
	"cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
	"siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
	"catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
	"diecinueve": 19, "veinte": 20, "veintiuno": 21, "veintidos": 22, "veintitres": 23,
	"veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28,
	"veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
	"setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200,
	"trescientos": 300, "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600,
}

// outOfTen matches "7/10", "7 out of 10" and "7 de 10", which mean 7 on a scale.
var outOfTen = regexp.MustCompile(`\b(\d+)\s*(?:/|out of|de)\s*10\b`)

// numbersIn returns the numbers written in folded text, in digits ("182.5", "182,5") or in
// words ("one hundred fifty two", "ciento cincuenta y dos").
func numbersIn(text string) []float64 {
	ws := words(text)
	var out []float64
	for i := 0; i < len(ws); i++ {
		if f, ok := parseDigits(ws[i]); ok {
			out = append(out, f)
			continue
		}
		if ws[i] == "a" && wordAt(ws, i+1) == "hundred" { // "a hundred and twenty" is 120, never 20
			i++
		}
		if _, ok := numberWords[ws[i]]; !ok && ws[i] != "hundred" {
			continue
		}
		n, next := wordNumber(ws, i)
		out = append(out, float64(n))
		i = next - 1
	}
	return out
}

func parseDigits(w string) (float64, bool) {
	if w == "" || w[0] < '0' || w[0] > '9' {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.Replace(w, ",", ".", 1), 64)
	return f, err == nil
}

// wordNumber reads one number in words starting at ws[i] and returns it with the index after
// it: hundreds, then tens, then units ("one hundred fifty two", "ciento cincuenta y dos"); a
// word that cannot continue the number ends it ("two three" is two numbers).
func wordNumber(ws []string, i int) (int, int) {
	current, last := 0, -1
	j := i
	for ; j < len(ws); j++ {
		w := ws[j]
		if w == "and" || w == "y" {
			if _, ok := numberWords[wordAt(ws, j+1)]; ok && last >= 20 {
				continue
			}
			break
		}
		if w == "hundred" {
			if last < 0 { // "(a) hundred twenty"
				current, last = 100, 100
				continue
			}
			if last >= 10 {
				break
			}
			current, last = current*100, 100
			if current == 0 {
				current = 100
			}
			continue
		}
		n, ok := numberWords[w]
		switch {
		case !ok:
		case last < 0:
			current, last = n, n
			continue
		case last >= 100 && n < 100, last >= 20 && last < 100 && last%10 == 0 && n < 10:
			current, last = current+n, n
			continue
		}
		break
	}
	return current, j
}

func wordAt(ws []string, i int) string {
	if i < len(ws) {
		return ws[i]
	}
	return ""
}
