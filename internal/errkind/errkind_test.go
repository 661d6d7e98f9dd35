package errkind_test

import (
	"errors"
	"io"
	"testing"

	"github.com/outreach-engine/outreach/internal/errkind"
)

func TestErrorf(t *testing.T) {
	err := errkind.Errorf(errkind.ErrConflict, "entry %d was voided: %w", 7, io.EOF)
	if err.Error() != "entry 7 was voided: EOF" {
		t.Errorf("message = %q, want the kind left out", err)
	}
	if !errors.Is(err, errkind.ErrConflict) || !errors.Is(err, io.EOF) || errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("%v: want it to be a conflict wrapping EOF, and nothing else", err)
	}
}
