package twilio

import (
	"context"
	"errors"
	"net/http"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/outreach"
)

// ringSeconds is how long a call rings before it counts as not answered.
const ringSeconds = 30

// StartCall places a call with answering-machine detection; Twilio asks c.URL (POST) what to say
// once it is answered and reports its progress to c.StatusCallback. Errors are
// *outreach.SendError; their text carries no phone number.
func (ch *Channel) StartCall(ctx context.Context, c outreach.Call) (string, error) {
	if ch.cfg.FromNumber == "" {
		return "", &outreach.SendError{Failure: outreach.Final,
			Err: errors.New("voice calls need TWILIO_FROM_NUMBER: a messaging service cannot place calls")}
	}
	p := &openapi.CreateCallParams{}
	p.SetTo(c.To).SetFrom(ch.cfg.FromNumber).SetUrl(c.URL).SetMethod(http.MethodPost).
		SetMachineDetection("Enable").SetTimeout(ringSeconds)
	if c.StatusCallback != "" {
		p.SetStatusCallback(c.StatusCallback).SetStatusCallbackMethod(http.MethodPost).
			SetStatusCallbackEvent([]string{"initiated", "ringing", "answered", "completed"})
	}
	return ch.create(ctx, "call", func(api *openapi.ApiService) (*string, error) {
		call, err := api.CreateCall(p)
		if err != nil {
			return nil, err
		}
		return call.Sid, nil
	})
}
