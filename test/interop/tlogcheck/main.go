// Command tlogcheck checks this project's transparency log with code we did not write:
// golang.org/x/mod/sumdb/note (signed notes, Ed25519 key ids) and golang.org/x/mod/sumdb/tlog
// (tiles, tree hashes, RFC 6962 record and tree proofs), as packaged by Debian.
//
// It verifies the signed checkpoint at <tlog>/checkpoint with the log's vkey, fetches hash tiles
// over HTTP (C2SP tlog-tiles paths, height 8) and rebuilds the root, proves and checks every leaf
// and every older size, compares each proof with the one our API serves, checks entry bundles
// against level-0 tiles, and verifies the shared JSON vectors. Any disagreement exits non-zero.
//
// Run (GOPATH mode, offline): GO111MODULE=off GOPATH=/usr/share/gocode go run main.go -h
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

var (
	base      = flag.String("api", "", "API base URL (the tlog API is at <api>/tlog)")
	vkey      = flag.String("vkey", "", "log verifier key")
	origin    = flag.String("origin", "", "expected checkpoint origin")
	auditor   = flag.String("auditor-key", "", "API key with the auditor role (entry bundles)")
	vectors   = flag.String("vectors", "", "path of test/vectors/checkpoint-v1.json")
	witnesses stringList
	sizes     = flag.String("sizes", "", "comma-separated older tree sizes to check consistency from")
	quorum    = flag.Int("quorum", 0, "witness cosignatures required")
	fails     = 0
	summary   = map[string]int{}
)

func fail(format string, a ...interface{}) {
	fails++
	fmt.Fprintf(os.Stderr, "DISAGREE: "+format+"\n", a...)
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "FATAL %s: %v\n", what, err)
		os.Exit(2)
	}
}

func get(path string, auth string) (int, []byte, http.Header) {
	req, err := http.NewRequest("GET", *base+path, nil)
	must(err, path)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	must(err, path)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	must(err, path)
	return res.StatusCode, body, res.Header
}

// httpTiles serves tlog.TileReader from the C2SP paths: tile/<L>/<N>[.p/<W>] (no height element).
type httpTiles struct{ fetched int }

func (h *httpTiles) Height() int { return 8 }
func (h *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := "/tlog/tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
		code, body, hdr := get(p, "")
		if code != 200 {
			return nil, fmt.Errorf("GET %s: %d %s", p, code, body)
		}
		if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			fail("tile %s Cache-Control %q is not immutable", p, cc)
		}
		if len(body) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s has %d bytes, want %d", p, len(body), t.W*tlog.HashSize)
		}
		out[i] = body
		h.fetched++
	}
	return out, nil
}
func (h *httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(text string) checkpoint {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		must(fmt.Errorf("bad checkpoint text %q", text), "checkpoint")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	must(err, "checkpoint size")
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	must(err, "checkpoint root")
	if len(raw) != 32 {
		must(fmt.Errorf("root is %d bytes", len(raw)), "checkpoint root")
	}
	var h tlog.Hash
	copy(h[:], raw)
	return checkpoint{lines[0], n, h}
}

// cosigVerifier checks C2SP cosignature/v1 (type 0x04) lines, which this x/mod version predates.
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func parseCosigVkey(v string) cosigVerifier {
	parts := strings.Split(v, "+")
	if len(parts) != 3 {
		must(fmt.Errorf("bad vkey %q", v), "witness vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	must(err, "witness vkey")
	if len(raw) != 33 || raw[0] != 0x04 {
		must(fmt.Errorf("not a cosignature/v1 key: %q", v), "witness vkey")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n\x04"), raw[1:]...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		fail("witness vkey %s: key id %08x computed here differs", v, id)
	}
	return cosigVerifier{parts[0], id, ed25519.PublicKey(raw[1:])}
}

func (c cosigVerifier) verify(text string, sig note.Signature) bool {
	raw, err := base64.StdEncoding.DecodeString(sig.Base64)
	if err != nil || len(raw) != 4+8+64 {
		return false
	}
	ts := binary.BigEndian.Uint64(raw[4:12])
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", ts, text)
	return ed25519.Verify(c.pub, []byte(msg), raw[12:])
}

func countCosignatures(n *note.Note, ws []cosigVerifier) int {
	valid := 0
	for _, w := range ws {
		for _, s := range n.UnverifiedSigs {
			if s.Name == w.name && s.Hash == w.hash {
				if w.verify(n.Text, s) {
					valid++
				} else {
					fail("cosignature by %s does not verify", w.name)
				}
				break
			}
		}
	}
	return valid
}

func hexHash(s string) tlog.Hash {
	var h tlog.Hash
	raw, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(raw) != 32 {
		must(fmt.Errorf("bad hash %q", s), "hash")
	}
	copy(h[:], raw)
	return h
}

func checkVectors(path string) {
	raw, err := os.ReadFile(path)
	must(err, "vectors")
	var v struct {
		Keys struct {
			Log       struct{ Name, Skey, Vkey string }
			Witnesses []struct{ Name, Skey, Vkey string }
		}
		Checkpoints []struct {
			Origin, RootHash, Text, Signed, Cosigned string
			Size                                     int64
		}
		SpecExample struct{ Vkey, Note, Text string }
	}
	must(json.Unmarshal(raw, &v), "vectors json")
	// Our signer key file must be one that x/mod's note.NewSigner reads, and sign identically.
	signer, err := note.NewSigner(v.Keys.Log.Skey)
	must(err, "note.NewSigner(log skey)")
	verifier, err := note.NewVerifier(v.Keys.Log.Vkey)
	must(err, "note.NewVerifier(log vkey)")
	var ws []cosigVerifier
	for _, w := range v.Keys.Witnesses {
		ws = append(ws, parseCosigVkey(w.Vkey))
	}
	for _, c := range v.Checkpoints {
		signed, err := note.Sign(&note.Note{Text: c.Text}, signer)
		must(err, "note.Sign")
		if string(signed) != c.Signed {
			fail("x/mod signs checkpoint %d differently:\n%s\nvs ours\n%s", c.Size, signed, c.Signed)
		}
		for _, msg := range []string{c.Signed, c.Cosigned} {
			n, err := note.Open([]byte(msg), note.VerifierList(verifier))
			if err != nil {
				fail("note.Open of vector size %d: %v", c.Size, err)
				continue
			}
			cp := parseCheckpoint(n.Text)
			if cp.origin != c.Origin || cp.size != c.Size || cp.root != hexHash(c.RootHash) {
				fail("vector checkpoint %d parses differently", c.Size)
			}
		}
		n, err := note.Open([]byte(c.Cosigned), note.VerifierList(verifier))
		if err == nil && countCosignatures(n, ws) != len(ws) {
			fail("vector %d: not every cosignature verified", c.Size)
		}
		summary["vectorCheckpoints"]++
	}
	sv, err := note.NewVerifier(v.SpecExample.Vkey)
	must(err, "spec example vkey")
	if n, err := note.Open([]byte(v.SpecExample.Note), note.VerifierList(sv)); err != nil || n.Text != v.SpecExample.Text {
		fail("spec example: %v", err)
	}
}

func main() {
	flag.Var(&witnesses, "witness", "witness cosignature/v1 vkey (repeatable)")
	flag.Parse()
	if *vectors != "" {
		checkVectors(*vectors)
	}
	if *base == "" {
		report()
		return
	}
	verifier, err := note.NewVerifier(*vkey)
	must(err, "note.NewVerifier")
	code, body, hdr := get("/tlog/checkpoint", "")
	if code != 200 {
		must(fmt.Errorf("%d %s", code, body), "GET checkpoint")
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		fail("checkpoint Content-Type %q", ct)
	}
	n, err := note.Open(body, note.VerifierList(verifier))
	must(err, "note.Open(checkpoint)")
	cp := parseCheckpoint(n.Text)
	if cp.origin != *origin {
		fail("origin %q, want %q", cp.origin, *origin)
	}
	var ws []cosigVerifier
	for _, w := range witnesses {
		ws = append(ws, parseCosigVkey(w))
	}
	if c := countCosignatures(n, ws); c < *quorum {
		fail("checkpoint has %d valid cosignatures, quorum %d", c, *quorum)
	} else {
		summary["cosignatures"] = c
	}
	summary["treeSize"] = int(cp.size)
	tiles := &httpTiles{}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tiles)
	root, err := tlog.TreeHash(cp.size, hr)
	must(err, "tlog.TreeHash")
	if root != cp.root {
		fail("root rebuilt from tiles %x, checkpoint says %x", root, cp.root)
	}
	// Every leaf: x/mod's proof must check, and equal the one our API serves for the head.
	leafIdx := make([]int64, cp.size)
	for i := range leafIdx {
		leafIdx[i] = tlog.StoredHashIndex(0, int64(i))
	}
	leaves, err := hr.ReadHashes(leafIdx)
	must(err, "leaf hashes from tiles")
	for i := int64(0); i < cp.size; i++ {
		p, err := tlog.ProveRecord(cp.size, i, hr)
		must(err, "ProveRecord")
		if err := tlog.CheckRecord(p, cp.size, cp.root, i, leaves[i]); err != nil {
			fail("x/mod inclusion proof of %d: %v", i, err)
		}
		if i%37 == 0 || i == cp.size-1 {
			code, body, _ := get(fmt.Sprintf("/v1/proofs/by-leaf-hash/0x%x", leaves[i][:]), "")
			var ours struct {
				LeafIndex      int64
				InclusionProof []string
				Anchor         struct{ TreeSize int64 }
			}
			if code != 200 || json.Unmarshal(body, &ours) != nil {
				fail("GET proof of leaf %d: %d %s", i, code, body)
				continue
			}
			var op tlog.RecordProof
			for _, h := range ours.InclusionProof {
				op = append(op, hexHash(h))
			}
			th, err := tlog.TreeHash(ours.Anchor.TreeSize, hr)
			must(err, "TreeHash(anchor)")
			if err := tlog.CheckRecord(op, ours.Anchor.TreeSize, th, ours.LeafIndex, leaves[i]); err != nil || ours.LeafIndex != i {
				fail("our inclusion proof of leaf %d (head size %d) fails in x/mod: %v", i, ours.Anchor.TreeSize, err)
			}
			summary["apiInclusionProofs"]++
		}
	}
	summary["inclusionProofs"] = int(cp.size)
	// Consistency from older sizes: x/mod's and ours must both check and be identical.
	for _, s := range strings.Split(*sizes, ",") {
		if s == "" {
			continue
		}
		m, err := strconv.ParseInt(s, 10, 64)
		must(err, "sizes")
		old, err := tlog.TreeHash(m, hr)
		must(err, "TreeHash(old)")
		p, err := tlog.ProveTree(cp.size, m, hr)
		must(err, "ProveTree")
		if err := tlog.CheckTree(p, cp.size, cp.root, m, old); err != nil {
			fail("x/mod consistency %d→%d: %v", m, cp.size, err)
		}
		code, body, _ := get(fmt.Sprintf("/v1/log/consistency?from=%d&to=%d", m, cp.size), "")
		var ours struct {
			Root1, Root2 string
			Proof        []string
		}
		if code != 200 || json.Unmarshal(body, &ours) != nil {
			fail("GET consistency %d: %d %s", m, code, body)
			continue
		}
		var op tlog.TreeProof
		for _, h := range ours.Proof {
			op = append(op, hexHash(h))
		}
		if hexHash(ours.Root1) != old || hexHash(ours.Root2) != cp.root {
			fail("our roots for %d→%d differ from the tiles'", m, cp.size)
		}
		if err := tlog.CheckTree(op, cp.size, cp.root, m, old); err != nil {
			fail("our consistency proof %d→%d fails in x/mod: %v", m, cp.size, err)
		}
		if len(op) != len(p) {
			fail("consistency %d→%d: %d hashes from us, %d from x/mod", m, cp.size, len(op), len(p))
		} else {
			for k := range p {
				if p[k] != op[k] {
					fail("consistency %d→%d differs at hash %d", m, cp.size, k)
				}
			}
		}
		summary["consistencyProofs"]++
	}
	// Entry bundles: each entry's RFC 6962 record hash is the level-0 tile hash.
	if *auditor != "" {
		if code, _, _ := get("/tlog/tile/entries/000", ""); code != 401 {
			fail("entry bundle without a key answered %d, want 401", code)
		}
		for b := int64(0); b*256 < cp.size; b++ {
			w := cp.size - b*256
			if w > 256 {
				w = 256
			}
			t := tlog.Tile{H: 8, L: 0, N: b, W: int(w)}
			p := "/tlog/tile/entries/" + strings.TrimPrefix(t.Path(), "tile/8/0/")
			code, body, _ := get(p, *auditor)
			if code != 200 {
				fail("GET %s: %d %s", p, code, body)
				continue
			}
			for k := int64(0); k < w; k++ {
				if len(body) < 2 {
					fail("bundle %s ends early", p)
					break
				}
				l := int(binary.BigEndian.Uint16(body))
				entry := body[2 : 2+l]
				body = body[2+l:]
				if tlog.RecordHash(entry) != leaves[b*256+k] {
					fail("entry %d does not hash to its tile hash", b*256+k)
				}
				summary["entries"]++
			}
			if len(body) != 0 {
				fail("bundle %s has trailing bytes", p)
			}
		}
	}
	summary["tilesFetched"] = tiles.fetched
	report()
}

func report() {
	summary["disagreements"] = fails
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
	if fails > 0 {
		os.Exit(1)
	}
}
