// Command trivy-db writes a small vulnerability database in Trivy's own
// format from a JSON fixture, for gantry's tests: `trivy.db` (bbolt) and
// `metadata.json` in the output directory.
//
// The fixture mirrors the buckets Trivy reads (trivy-db schema 2):
//
//	"advisories":    {"<source bucket>": {"<package>": {"<vulnerability ID>": {advisory}}}}
//	"data-source":   {"<source bucket>": {data source}}
//	"vulnerability": {"<vulnerability ID>": {details}}
//
// Each advisory and detail is stored as its JSON, as trivy-db stores them.
//
// Usage: trivy-db <fixture.json> <output dir>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

type fixture struct {
	Advisories    map[string]map[string]map[string]json.RawMessage `json:"advisories"`
	DataSource    map[string]json.RawMessage                       `json:"data-source"`
	Vulnerability map[string]json.RawMessage                       `json:"vulnerability"`
}

// metadata is trivy-db's metadata.json. DownloadedAt stays zero, as in the
// published artifact: Trivy fills it in after a download.
type metadata struct {
	Version      int
	NextUpdate   time.Time
	UpdatedAt    time.Time
	DownloadedAt time.Time
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: trivy-db <fixture.json> <output dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-db:", err)
		os.Exit(1)
	}
}

func run(fixturePath, out string) error {
	text, err := os.ReadFile(fixturePath)
	if err != nil {
		return err
	}
	var f fixture
	if err := json.Unmarshal(text, &f); err != nil {
		return fmt.Errorf("%s: %w", fixturePath, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	db, err := bolt.Open(filepath.Join(out, "trivy.db"), 0o644, nil)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for source, packages := range f.Advisories {
			root, err := tx.CreateBucketIfNotExists([]byte(source))
			if err != nil {
				return err
			}
			for pkg, advisories := range packages {
				b, err := root.CreateBucketIfNotExists([]byte(pkg))
				if err != nil {
					return err
				}
				if err := putAll(b, advisories); err != nil {
					return err
				}
			}
		}
		for name, values := range map[string]map[string]json.RawMessage{
			"data-source":   f.DataSource,
			"vulnerability": f.Vulnerability,
		} {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			if err := putAll(b, values); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// A day ahead, like the published database (rebuilt every few hours):
	// Trivy downloads again only once NextUpdate has passed.
	now := time.Now().UTC().Truncate(time.Second)
	meta, err := json.Marshal(metadata{Version: 2, NextUpdate: now.Add(24 * time.Hour), UpdatedAt: now})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "metadata.json"), append(meta, '\n'), 0o644)
}

// putAll stores each value under its key, compacted as json.Marshal writes it.
func putAll(b *bolt.Bucket, values map[string]json.RawMessage) error {
	for key, value := range values {
		compact, err := json.Marshal(value)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(key), compact); err != nil {
			return err
		}
	}
	return nil
}
