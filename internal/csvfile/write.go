package csvfile

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// Writer writes CSV that people open in a spreadsheet. A cell that a spreadsheet would read as
// a formula (it starts with =, +, -, @, a tab or a carriage return) is written with a leading
// apostrophe, so that a note or a name typed as "=HYPERLINK(…)" shows as the text it is and
// never runs.
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
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
