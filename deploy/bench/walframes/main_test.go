package main

import (
	"encoding/binary"
	"slices"
	"testing"
)

// wal builds a WAL of 512-byte pages: a header with salts, then one frame per
// page number, frames[i] ending a commit when commit[i], with the salts given.
func wal(salts [8]byte, pages []uint32, commit []bool, frameSalts [][8]byte) []byte {
	const pageSize = 512
	b := make([]byte, 32)
	binary.BigEndian.PutUint32(b[0:4], 0x377f0682)
	binary.BigEndian.PutUint32(b[8:12], pageSize)
	copy(b[16:24], salts[:])
	for i, p := range pages {
		h := make([]byte, 24+pageSize)
		binary.BigEndian.PutUint32(h[0:4], p)
		if commit[i] {
			binary.BigEndian.PutUint32(h[4:8], 10)
		}
		copy(h[8:16], frameSalts[i][:])
		b = append(b, h...)
	}
	return b
}

func TestWALPagesStopsAtAnOlderGeneration(t *testing.T) {
	cur, old := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, [8]byte{9, 9, 9, 9, 9, 9, 9, 9}
	w := wal(cur, []uint32{7, 3, 7, 1, 5}, []bool{false, true, true, false, true}, [][8]byte{cur, cur, cur, old, old})
	pages, commits, err := walPages(w)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{7, 3, 7}; !slices.Equal(pages, want) || commits != 2 {
		t.Fatalf("pages %v commits %d, want %v and 2", pages, commits, want)
	}
	// A torn last frame is not counted.
	w = wal(cur, []uint32{7, 3}, []bool{false, true}, [][8]byte{cur, cur})
	if pages, commits, _ := walPages(w[:len(w)-100]); !slices.Equal(pages, []uint32{7}) || commits != 0 {
		t.Fatalf("torn WAL: pages %v commits %d, want [7] and 0", pages, commits)
	}
}

func TestWALPagesRefusesGarbage(t *testing.T) {
	if _, _, err := walPages(make([]byte, 10)); err == nil {
		t.Fatal("a 10-byte WAL: want an error")
	}
	if _, _, err := walPages(make([]byte, 64)); err == nil {
		t.Fatal("page size 0: want an error")
	}
}
