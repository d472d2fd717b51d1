package servingcert

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestFilesAreReloadedWhenTheyChange(t *testing.T) {
	dir := t.TempDir()
	ca, err := GenerateCA(time.Now(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func() {
		t.Helper()
		l, err := IssueLeaf(ca, []string{"localhost"}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"tls.crt": l.CertPEM, "tls.key": l.KeyPEM, "ca.crt": Bundle([]CA{ca})} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	write()
	src := NewSource()
	l := &FileLoader{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CAFile: filepath.Join(dir, "ca.crt"), Source: src, Log: logr.Discard()}
	if err := l.Load(); err != nil {
		t.Fatal(err)
	}
	first := serial(src)
	if first == "" || len(src.Bundle()) == 0 {
		t.Fatalf("nothing loaded: serial %q, bundle %d bytes", first, len(src.Bundle()))
	}
	if err := l.Load(); err != nil || serial(src) != first {
		t.Fatalf("unchanged files reloaded to %s (%v)", serial(src), err)
	}
	write()
	if err := l.Load(); err != nil {
		t.Fatal(err)
	}
	if serial(src) == first {
		t.Errorf("a new certificate in the files was not loaded")
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := serial(src)
	if err := l.Load(); err == nil || serial(src) != second {
		t.Errorf("a broken key file replaced the certificate (err %v)", err)
	}
}
