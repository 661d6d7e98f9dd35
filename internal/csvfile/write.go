package csvfile

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Writer writes CSV that people open in a spreadsheet. A cell that a spreadsheet would read as
// a formula (it starts with =, +, -, @, a tab or a carriage return) is written with a leading
// apostrophe, so that a note or a name typed as "=HYPERLINK(…)" shows as the text it is and
// never runs. A plain number ("-12", "+3.50") is a number to a spreadsheet, not a formula: it is
// written as it is, so that numeric columns stay numeric.
type Writer struct{ w *csv.Writer }

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{csv.NewWriter(w)} }

// Write writes one record, its cells made inert.
func (w *Writer) Write(rec []string) error {
	out := make([]string, len(rec))
	for i, cell := range rec {
		out[i] = inert(cell)
	}
	if err := w.w.Write(out); err != nil {
		return fmt.Errorf("error writing CSV: %w", err)
	}
	return nil
}

// Flush writes what is buffered and returns the first error of any write.
func (w *Writer) Flush() error {
	w.w.Flush()
	if err := w.w.Error(); err != nil {
		return fmt.Errorf("error writing CSV: %w", err)
	}
	return nil
}

// inert returns a cell that no spreadsheet reads as a formula.
func inert(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !number.MatchString(cell) {
		return "'" + cell
	}
	return cell
}

// number is a plain decimal number, signed or not.
var number = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)
