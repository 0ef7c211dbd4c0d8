package data

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixtures are written here, byte by byte, in the packages' formats
// (see the format notes on DecodeSword and DecodeRData), so the tests need
// neither package. TestDebianPackages checks the real files when
// scripts/get-text.sh has installed them.

func zlibBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeSword writes a zText testament whose verses are split across blocks
// of at most perBlock verses; empty verses get size-0 records, as in the
// real module's headers.
func writeSword(t *testing.T, dir, testament string, verses []string, perBlock int) {
	t.Helper()
	var bzs, bzv, bzz bytes.Buffer
	le := binary.LittleEndian
	for start := 0; start < len(verses); start += perBlock {
		var block bytes.Buffer
		for _, v := range verses[start:min(start+perBlock, len(verses))] {
			rec := make([]byte, 10)
			le.PutUint32(rec, uint32(start/perBlock))
			le.PutUint32(rec[4:], uint32(block.Len()))
			le.PutUint16(rec[8:], uint16(len(v)))
			bzv.Write(rec)
			block.WriteString(v)
		}
		z := zlibBytes(t, block.Bytes())
		rec := make([]byte, 12)
		le.PutUint32(rec, uint32(bzz.Len()))
		le.PutUint32(rec[4:], uint32(len(z)))
		le.PutUint32(rec[8:], uint32(block.Len()))
		bzs.Write(rec)
		bzz.Write(z)
	}
	for ext, b := range map[string][]byte{".bzs": bzs.Bytes(), ".bzv": bzv.Bytes(), ".bzz": bzz.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, testament+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDecodeSword(t *testing.T) {
	dir := t.TempDir()
	writeSword(t, dir, "nt", []string{
		"",
		`<div osisID="Matt" type="book"/> <title type="main">Matthew</title>`,
		`<chapter n="1" osisID="Matt.1"/>`,
		`<w lemma="strong:G2424">The</w> <w>book</w> of Jesus Christ,<note placement="foot"><reference>1:1 </reference>Messiah</note> the son of David.`,
		`<div sID="gen1" type="x-p"/>Abraham became the father of Isaac &amp; Jacob.`,
		`Jacob became the father of Judah.`,
		`<div sID="gen2" type="x-p"/><chapter n="2" osisID="Matt.2"/>Now when Jesus was born…`,
	}, 3)
	got, err := DecodeSword(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"The book of Jesus Christ, the son of David.",
		"Abraham became the father of Isaac & Jacob. Jacob became the father of Judah.",
		"Now when Jesus was born…",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("paragraphs\n%q\nwant\n%q", got, want)
	}
	// Corrupt index: a verse pointing past its block.
	bad := t.TempDir()
	writeSword(t, bad, "ot", []string{"abc"}, 1)
	bzv, _ := os.ReadFile(filepath.Join(bad, "ot.bzv"))
	binary.LittleEndian.PutUint16(bzv[8:], 99)
	os.WriteFile(filepath.Join(bad, "ot.bzv"), bzv, 0o644)
	if _, err := LoadCorpus(bad, ""); err == nil || !strings.Contains(err.Error(), "beyond block") {
		t.Errorf("corrupt module: %v", err)
	}
	if _, err := LoadCorpus(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "not a zText module") {
		t.Errorf("empty directory: %v", err)
	}
}

// rSerialize writes a character vector in R's XDR serialization, version 3.
func rSerialize(lines []string, na int) []byte {
	var b bytes.Buffer
	be := func(v uint32) { binary.Write(&b, binary.BigEndian, v) }
	b.WriteString("X\n")
	be(3)
	be(0x00040201) // written by R 4.2.1
	be(0x00030500) // readable by R ≥ 3.5.0
	be(5)
	b.WriteString("UTF-8")
	be(0x10) // STRSXP
	be(uint32(len(lines)))
	for i, l := range lines {
		if i == na {
			be(0x09)
			be(0xffffffff)
			continue
		}
		be(0x00040009) // CHARSXP, UTF-8 flagged
		be(uint32(len(l)))
		b.WriteString(l)
	}
	return b.Bytes()
}

func rObject(t *testing.T, payload []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(payload)))
	b.Write(zlibBytes(t, payload))
	return b.Bytes()
}

func TestDecodeRData(t *testing.T) {
	novel1 := []string{"EMMA", "", "By Jane Austen", "", "", "Emma Woodhouse, handsome, clever, and rich,", "with a comfortable home", "", "NA follows:", "x"}
	novel2 := []string{"PERSUASION", "", "Sir Walter Elliot, of Kellynch Hall"}
	var rdb []byte
	rdb = append(rdb, rObject(t, rSerialize(novel1, 9))...)
	rdb = append(rdb, rObject(t, rSerialize(novel2, -1))...)
	path := writeFile(t, "Rdata.rdb", rdb)
	c, err := LoadCorpus(path, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"EMMA", "By Jane Austen", "Emma Woodhouse, handsome, clever, and rich, with a comfortable home", "NA follows:", "PERSUASION", "Sir Walter Elliot, of Kellynch Hall"}
	if strings.Join(c.Docs, "|") != strings.Join(want, "|") {
		t.Fatalf("paragraphs\n%q\nwant\n%q", c.Docs, want)
	}
	// A gzip file is not a lazy-load database; truncation is reported.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(rSerialize(novel2, -1))
	w.Close()
	for name, b := range map[string][]byte{"gzip": gz.Bytes(), "truncated": rdb[:len(rdb)-30], "empty": nil} {
		p := writeFile(t, name+".rdb", b)
		if _, err := LoadCorpus(p, ""); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

// TestDebianPackages decodes the real packages when they are installed.
func TestDebianPackages(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/usr/share/sword/modules/texts/ztext/engWEB2015eb", "In the beginning, God created the heavens and the earth."},
		{"/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb", "It is a truth universally acknowledged"},
	} {
		if _, err := os.Stat(c.path); err != nil {
			t.Logf("skip %s: not installed (scripts/get-text.sh installs it)", c.path)
			continue
		}
		corp, err := LoadCorpus(c.path, "")
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(corp.Docs, "\n")
		if !strings.Contains(all, c.want) {
			t.Errorf("%s: %d paragraphs without %q", c.path, len(corp.Docs), c.want)
		}
		t.Logf("%s: %d paragraphs, %d bytes", c.path, len(corp.Docs), len(all))
	}
}
