package legacy_test

import (
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/legacy/legacytest"
)

// legacyDB is a legacy database built from fixtures on the test MariaDB.
type legacyDB = legacytest.DB

func loadLegacy(t *testing.T, prefix string, files ...string) legacyDB {
	t.Helper()
	return legacytest.Load(t, prefix, files...)
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(legacy.DefaultTimezone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
