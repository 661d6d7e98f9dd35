package fhir

import (
	"encoding/json"
)

// Bundle is the R4 Bundle resource: a page of search results, or a batch or transaction and
// its response.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

func (Bundle) resourceType() string { return "Bundle" }

// BundleLink is a link of a search page (self, next).
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one entry of a Bundle. Resource is what the engine writes; Raw is what a
// client sent, read later by resource type.
type BundleEntry struct {
	FullURL  string           `json:"fullUrl,omitempty"`
	Resource any              `json:"resource,omitempty"`
	Search   *BundleSearch    `json:"search,omitempty"`
	Request  *BundleRequest   `json:"request,omitempty"`
	Response *BundleResponse  `json:"response,omitempty"`
	Raw      *json.RawMessage `json:"-"`
}

// BundleSearch says why an entry is in a search page.
type BundleSearch struct {
	Mode string `json:"mode"`
}

// BundleRequest is what a batch or transaction entry asks for.
type BundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleResponse is what was done for one entry of a batch or transaction.
type BundleResponse struct {
	Status   string            `json:"status"`
	Location string            `json:"location,omitempty"`
	Outcome  *OperationOutcome `json:"outcome,omitempty"`
}
