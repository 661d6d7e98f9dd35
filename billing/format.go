package billing

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/outreach-engine/outreach/internal/csvfile"
)

// csvHeader lists the columns of a report as CSV.
var csvHeader = []string{"patient", "program", "billing_npi", "seconds", "minutes", "status", "codes", "amount", "reasons", "next_code", "next_minutes", "uncounted_seconds", "next_needs", "days", "next_device_code", "next_device_days"}

// WriteCSV writes the report's rows as CSV: codes as CODExUNITS separated by ';', amounts in
// dollars; the columns added later (uncounted_seconds, next_needs, then the RPM rows' days
// with device data and the next device supply code with the days it needs) come last. No cell is written that a spreadsheet would run as a formula; numbers stay numbers.
func WriteCSV(w io.Writer, rep MonthReport) error {
	cw := csvfile.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("error writing report: %w", err)
	}
	for _, r := range rep.Rows {
		nextCode, nextMin, needs := "", "", ""
		if r.Next != nil {
			nextCode, nextMin, needs = string(r.Next.Code), strconv.FormatInt(r.Next.MinutesNeeded, 10), string(r.Next.Needs)
		}
		days, deviceCode, deviceDays := "", "", ""
		if r.Days != nil {
			days = strconv.Itoa(*r.Days)
		}
		if r.DeviceNext != nil {
			deviceCode, deviceDays = string(r.DeviceNext.Code), strconv.Itoa(r.DeviceNext.DaysNeeded)
		}
		rec := []string{r.Patient, string(r.Program), r.BillingNPI, strconv.FormatInt(r.Seconds, 10),
			strconv.FormatInt(r.Seconds/60, 10), string(r.Status), codeList(r.Codes), dollars(r.AmountCents),
			reasonList(r.Reasons), nextCode, nextMin, strconv.FormatInt(r.UncountedSeconds, 10), needs,
			days, deviceCode, deviceDays}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("error writing report: %w", err)
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("error writing report: %w", err)
	}
	return nil
}

// WriteText writes the report for a person: a line per row, then totals per code and status.
func WriteText(w io.Writer, rep MonthReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Billing report %s (%s)", rep.Month, rep.Timezone)
	if rep.ClosedAt != nil {
		fmt.Fprintf(tw, ", closed %s", rep.ClosedAt.Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "\nPATIENT\tPROGRAM\tTIME\tSTATUS\tCODES\tAMOUNT\tNEXT\tREASONS")
	units := map[Code]int{}
	amounts := map[Code]int64{}
	statuses := map[Status]int{}
	var total int64
	for _, r := range rep.Rows {
		next := ""
		if r.Next != nil {
			next = fmt.Sprintf("%s in %d min", r.Next.Code, r.Next.MinutesNeeded)
			if r.Next.Needs == NeedsInteractiveContact {
				next += " and an interactive contact"
			}
		}
		if r.DeviceNext != nil {
			if next != "" {
				next += "; "
			}
			next += fmt.Sprintf("%s in %d days of data", r.DeviceNext.Code, r.DeviceNext.DaysNeeded)
		}
		spent := fmt.Sprintf("%d:%02d", r.Seconds/60, r.Seconds%60)
		if r.UncountedSeconds > 0 {
			spent += fmt.Sprintf(" (+%d:%02d not counted)", r.UncountedSeconds/60, r.UncountedSeconds%60)
		}
		if r.Days != nil {
			spent += fmt.Sprintf(", %d days of data", *r.Days)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Patient, r.Program, spent,
			r.Status, codeList(r.Codes), dollars(r.AmountCents), next, strings.ReplaceAll(reasonList(r.Reasons), ";", ", "))
		for _, c := range r.Codes {
			units[c.Code] += c.Units
			amounts[c.Code] += c.AmountCents
		}
		statuses[r.Status]++
		total += r.AmountCents
	}
	fmt.Fprintln(tw, "\nCODE\tUNITS\tAMOUNT")
	codes := make([]Code, 0, len(units))
	for c := range units {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", c, units[c], dollars(amounts[c]))
	}
	fmt.Fprintf(tw, "total\t\t%s\n", dollars(total))
	fmt.Fprintf(tw, "\nrows: %d billable, %d below threshold, %d not eligible, %d excluded\n",
		statuses[Billable], statuses[BelowThreshold], statuses[NotEligible], statuses[Excluded])
	if rep.HiddenRows > 0 {
		fmt.Fprintf(tw, "%d rows of enrolled patients with no time this month not shown (--all shows them)\n", rep.HiddenRows)
	}
	for _, l := range rep.AmendedAfterClose {
		fmt.Fprintf(tw, "changed after the close: entry %d (patients %s) at %s\n", l.Entry, strings.Join(l.Patients, ", "), l.CreatedAt.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func codeList(cs []CodeLine) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%sx%d", c.Code, c.Units)
	}
	return strings.Join(parts, ";")
}

func reasonList(rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ";")
}

func dollars(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }
