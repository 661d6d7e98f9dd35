package scripts

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

//go:embed library/*.yaml
var library embed.FS

// Library is a set of scripts by id.
type Library map[string]*Script

// Bundled loads the scripts shipped with the engine.
func Bundled() (Library, error) {
	names, err := fs.Glob(library, "library/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("error reading the bundled scripts: %w", err)
	}
	lib := Library{}
	for _, name := range names {
		data, err := library.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("error reading %s: %w", name, err)
		}
		s, err := Parse(path.Base(name), data)
		if err != nil {
			return nil, err
		}
		if lib[s.ID] != nil {
			return nil, fmt.Errorf("%s: script id %q is used twice", name, s.ID)
		}
		lib[s.ID] = s
	}
	return lib, nil
}

// IDs returns the library's script ids, sorted.
func (l Library) IDs() []string {
	ids := make([]string, 0, len(l))
	for id := range l {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
