package twilio

import (
	"context"
	"fmt"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/outreach"
)

// lookupLimit bounds how many of a number's recent messages a lookup reads.
const lookupLimit = 200

// FindSMS looks for a message to `to` with exactly this body sent since `since` (a day of slack:
// the provider filters by date only). It returns nil when the provider has none.
func (ch *Channel) FindSMS(ctx context.Context, to, body string, since time.Time) (*outreach.Found, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &openapi.ListMessageParams{}
	p.SetTo(to).SetDateSentAfter(since.UTC().AddDate(0, 0, -1)).SetPageSize(100).SetLimit(lookupLimit)
	msgs, err := ch.api.ListMessage(p)
	if err != nil {
		return nil, fmt.Errorf("error listing messages at the provider: %w", err)
	}
	for _, m := range msgs {
		if m.Body != nil && *m.Body == body && m.Sid != nil {
			f := &outreach.Found{SID: *m.Sid}
			if m.Status != nil {
				f.Status = *m.Status
			}
			return f, nil
		}
	}
	return nil, nil
}
