// Command walframes counts the frames of an embedded-mode SQLite WAL by the
// B-tree (table or index) each frame's page belongs to: which tables a draw's
// commits write, and how many pages each. docs/PERFORMANCE.md, "Sixth round",
// shows how to take the copy it reads:
//
//	go run ./deploy/bench/walframes DIR
//
// DIR holds a copy of bigmarket.db with its -wal and -shm files, taken while
// the server was stopped (SIGSTOP) under load. Only the frames of the WAL's
// current generation (those whose salts match its header) are counted.
package main

import (
	"cmp"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	_ "modernc.org/sqlite"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: walframes DIR (a copy of bigmarket.db, -wal and -shm)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "walframes:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	db := filepath.Join(dir, "bigmarket.db")
	// The WAL is read before SQLite opens the database.
	wal, err := os.ReadFile(db + "-wal")
	if err != nil {
		return err
	}
	frames, commits, err := walPages(wal)
	if err != nil {
		return err
	}
	owner, err := pageOwners(db)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, p := range frames {
		o, ok := owner[p]
		if !ok {
			o = "(not in the database)"
		}
		count[o]++
	}
	type row struct {
		name string
		n    int
	}
	var rows []row
	for k, v := range count {
		rows = append(rows, row{k, v})
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name)) })
	fmt.Printf("frames %d, commits %d\n", len(frames), commits)
	for _, r := range rows {
		fmt.Printf("%8d %6.2f%%  %s\n", r.n, 100*float64(r.n)/float64(len(frames)), r.name)
	}
	return nil
}

// walPages returns the page number of each frame of the WAL's current
// generation, in order, and how many of them end a commit.
func walPages(wal []byte) (pages []uint32, commits int, err error) {
	if len(wal) < 32 {
		return nil, 0, errors.New("WAL shorter than its header")
	}
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	if pageSize < 512 || pageSize > 65536 {
		return nil, 0, fmt.Errorf("WAL header gives page size %d", pageSize)
	}
	salts := wal[16:24]
	for off := 32; off+24+pageSize <= len(wal); off += 24 + pageSize {
		h := wal[off : off+24]
		if string(h[8:16]) != string(salts) {
			break // an older generation's frame: the current one ends here
		}
		pages = append(pages, binary.BigEndian.Uint32(h[0:4]))
		if binary.BigEndian.Uint32(h[4:8]) != 0 {
			commits++
		}
	}
	return pages, commits, nil
}

// pageOwners maps each page of the database (with its WAL) to its B-tree and
// page type, from SQLite's dbstat table.
func pageOwners(path string) (map[uint32]string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query("SELECT name, pageno, pagetype FROM dbstat")
	if err != nil {
		return nil, fmt.Errorf("read dbstat: %w", err)
	}
	defer rows.Close()
	owner := map[uint32]string{}
	for rows.Next() {
		var name, kind string
		var page uint32
		if err := rows.Scan(&name, &page, &kind); err != nil {
			return nil, fmt.Errorf("read dbstat: %w", err)
		}
		owner[page] = name + " (" + kind + ")"
	}
	return owner, rows.Err()
}
