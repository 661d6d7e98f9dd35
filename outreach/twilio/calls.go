package twilio

import (
	"context"
	"errors"
	"fmt"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/outreach"
)

// ringSeconds is how long a call rings before it counts as not answered.
const ringSeconds = 30

// StartCall places a call with answering-machine detection; Twilio asks c.URL what to say once
// it is answered and reports its progress to c.StatusCallback. Errors are *outreach.SendError;
// their text carries no phone number.
func (ch *Channel) StartCall(ctx context.Context, c outreach.Call) (string, error) {
	if ch.cfg.FromNumber == "" {
		return "", &outreach.SendError{Failure: outreach.Final,
			Err: errors.New("calls need TWILIO_FROM_NUMBER: a messaging service cannot place calls")}
	}
	p := &openapi.CreateCallParams{}
	p.SetTo(c.To).SetFrom(ch.cfg.FromNumber).SetUrl(c.URL).SetMethod("POST").
		SetMachineDetection("Enable").SetTimeout(ringSeconds)
	if c.StatusCallback != "" {
		p.SetStatusCallback(c.StatusCallback).SetStatusCallbackMethod("POST").
			SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	}
	if err := ctx.Err(); err != nil {
		return "", &outreach.SendError{Failure: outreach.Retry, Err: fmt.Errorf("call not started: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, ch.cfg.Timeout)
	defer cancel()
	at := &attempt{}
	call, err := ch.service(ctx, at).CreateCall(p)
	if err != nil {
		return "", classify(err, at)
	}
	if call.Sid == nil || *call.Sid == "" {
		return "", &outreach.SendError{Failure: outreach.Ambiguous, Err: errors.New("the provider accepted the call without an id")}
	}
	return *call.Sid, nil
}
