package tz

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// instead maps names (lower case) that are not the zone of a place to the zone to write
// instead. Some are fixed offsets in the IANA database (EST, MST, HST, GMT); some follow a
// country's rules under a name that is not a place (EST5EDT, CET); the rest are abbreviations
// that are no zone at all (PST, CDT) but are written for one.
var instead = map[string]string{
	"est": "America/New_York", "edt": "America/New_York", "est5edt": "America/New_York",
	"cst": "America/Chicago", "cdt": "America/Chicago", "cst6cdt": "America/Chicago",
	"mst":     "America/Denver (or America/Phoenix, which keeps standard time all year)",
	"mdt":     "America/Denver",
	"mst7mdt": "America/Denver",
	"pst":     "America/Los_Angeles", "pdt": "America/Los_Angeles", "pst8pdt": "America/Los_Angeles",
	"akst": "America/Anchorage", "akdt": "America/Anchorage",
	"hst": "Pacific/Honolulu", "hdt": "America/Adak",
	"ast": "America/Puerto_Rico (or America/Halifax, which changes to daylight saving time)",
	"adt": "America/Halifax",
	"nst": "America/St_Johns", "ndt": "America/St_Johns",
	"sst": "Pacific/Pago_Pago", "chst": "Pacific/Guam",
	"gmt": "Europe/London (or UTC)", "gmt0": "Europe/London (or UTC)", "gmt+0": "Europe/London (or UTC)",
	"gmt-0": "Europe/London (or UTC)", "greenwich": "Europe/London (or UTC)", "bst": "Europe/London",
	"etc/gmt": "Europe/London (or UTC)", "etc/gmt0": "Europe/London (or UTC)", "etc/gmt+0": "Europe/London (or UTC)",
	"etc/gmt-0": "Europe/London (or UTC)", "etc/greenwich": "Europe/London (or UTC)",
	"utc": "UTC", "etc/utc": "UTC", "uct": "UTC", "etc/uct": "UTC", "universal": "UTC",
	"etc/universal": "UTC", "zulu": "UTC", "etc/zulu": "UTC",
	"cet": "the zone of a city, like Europe/Paris or Europe/Berlin", "cest": "the zone of a city, like Europe/Paris or Europe/Berlin",
	"met": "the zone of a city, like Europe/Paris or Europe/Berlin", "mest": "the zone of a city, like Europe/Paris or Europe/Berlin",
	"eet": "the zone of a city, like Europe/Athens or Europe/Helsinki", "eest": "the zone of a city, like Europe/Athens or Europe/Helsinki",
	"wet": "the zone of a city, like Europe/Lisbon", "west": "the zone of a city, like Europe/Lisbon",
	"factory": "the zone of a place, like America/Chicago", "localtime": "the zone of a place, like America/Chicago",
	"posixrules": "America/New_York",
}

// byOffset suggests a place for the fixed offsets of the United States and its territories.
var byOffset = map[int]string{
	-4: "America/Puerto_Rico", -5: "America/New_York", -6: "America/Chicago", -7: "America/Denver",
	-8: "America/Los_Angeles", -9: "America/Anchorage", -10: "Pacific/Honolulu", -11: "Pacific/Pago_Pago",
	10: "Pacific/Guam",
}

// Check says why name, given by a person for a time zone, is refused although it may load:
// a fixed offset from UTC (EST, MST, HST, GMT, Etc/GMT+5), which never follows the daylight
// saving time of the place meant; a zone name that is not a place (EST5EDT, CET, posix/…);
// or an abbreviation that is no zone (PST). The error names the zone to write instead. Any other name passes
// (Load says whether it is a zone).
//
// UTC and Etc/UTC are accepted: nobody writes them meaning a place's local time, as people
// write EST meaning New York or GMT meaning London, so they are a deliberate choice of no
// offset at all.
func Check(name string) error {
	if name == "UTC" || name == "Etc/UTC" {
		return nil
	}
	use, known := instead[strings.ToLower(name)]
	if !known {
		use, known = etcOffset(name)
	}
	if !known {
		if rest, ok := cutDirectory(name); ok {
			use, known = rest, true
		}
	}
	if !known {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return fmt.Errorf("%q is not an IANA time zone: use %s", name, use)
	}
	if offset, ok := fixed(loc); ok {
		note := ""
		if strings.HasPrefix(strings.ToLower(name), "etc/gmt") && offset != "+00:00" {
			note = "; Etc/GMT names invert the sign"
		}
		return fmt.Errorf("%q is a fixed offset from UTC (%s all year, no daylight saving time%s), not the time zone of a place: use %s", name, offset, note, use)
	}
	return fmt.Errorf("%q is not the time zone of a place: use %s", name, use)
}

// etcOffset suggests a zone for Etc/GMT+5 (five hours behind UTC) and the like.
func etcOffset(name string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(name), "etc/gmt")
	if !ok || rest == "" || (rest[0] != '+' && rest[0] != '-') {
		return "", false
	}
	hours, err := strconv.Atoi(rest)
	if err != nil {
		return "", false
	}
	if place, ok := byOffset[-hours]; ok {
		return place, true
	}
	return "the zone of a place, like America/Chicago", true
}

// cutDirectory returns the zone a posix/ or right/ name stands for: the first is a copy, the
// second counts leap seconds, which no clock shows.
func cutDirectory(name string) (string, bool) {
	for _, dir := range []string{"posix/", "right/"} {
		if rest, ok := strings.CutPrefix(name, dir); ok && rest != "" {
			return rest, true
		}
	}
	return "", false
}

// fixed reports whether loc keeps one offset from UTC all year, and which (like -05:00).
func fixed(loc *time.Location) (string, bool) {
	jan := time.Date(2026, time.January, 15, 12, 0, 0, 0, loc)
	jul := time.Date(2026, time.July, 15, 12, 0, 0, 0, loc)
	if jan.Format("-07:00") != jul.Format("-07:00") {
		return "", false
	}
	return jan.Format("-07:00"), true
}
