package db

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// parseKeyValues parses a libpq key=value connection string, with single-quoted values and
// backslash escapes as libpq accepts them.
func parseKeyValues(s string) (map[string]string, error) {
	params := map[string]string{}
	r := []rune(s)
	i := 0
	skipSpace := func() {
		for i < len(r) && (r[i] == ' ' || r[i] == '\t' || r[i] == '\n') {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(r) {
			return params, nil
		}
		start := i
		for i < len(r) && r[i] != '=' && r[i] != ' ' {
			i++
		}
		key := string(r[start:i])
		skipSpace()
		if i >= len(r) || r[i] != '=' || key == "" {
			return nil, fmt.Errorf("error parsing database connection string: missing \"=\" after %q", key)
		}
		i++
		skipSpace()
		var val strings.Builder
		if i < len(r) && r[i] == '\'' {
			i++
			for ; i < len(r) && r[i] != '\''; i++ {
				if r[i] == '\\' && i+1 < len(r) {
					i++
				}
				val.WriteRune(r[i])
			}
			if i >= len(r) {
				return nil, fmt.Errorf("error parsing database connection string: unterminated quote in %q", key)
			}
			i++
		} else {
			for ; i < len(r) && r[i] != ' '; i++ {
				if r[i] == '\\' && i+1 < len(r) {
					i++
				}
				val.WriteRune(r[i])
			}
		}
		params[key] = val.String()
	}
}

// formatKeyValues is the inverse of parseKeyValues, with keys sorted for stable output.
func formatKeyValues(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := strings.ReplaceAll(params[k], `\`, `\\`)
		v = strings.ReplaceAll(v, `'`, `\'`)
		parts = append(parts, k+"='"+v+"'")
	}
	return strings.Join(parts, " ")
}

// urlParams reads a postgres:// URL into connection parameters as lib/pq reads one: user and
// password, host and port, the database from the path, and every query parameter. Several
// hosts are written "h1,h2" with their ports apart ("?port=5501,5502").
func urlParams(dsn string) (map[string]string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			params[k] = v
		}
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		set("user", u.User.Username())
		set("password", pw)
	}
	if host, port, err := net.SplitHostPort(u.Host); err == nil {
		set("host", host)
		set("port", port)
	} else {
		set("host", u.Host)
	}
	set("dbname", strings.TrimPrefix(u.Path, "/"))
	q := u.Query()
	for k := range q {
		set(k, q.Get(k))
	}
	return params, nil
}
