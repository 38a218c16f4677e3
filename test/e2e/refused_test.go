//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
	pushpkg "github.com/tracebloc/kubectl-tracebloc/pkg/push"
	"github.com/tracebloc/kubectl-tracebloc/pkg/stagepod"
)

// kubeconfigWith writes a copy of the suite's kubeconfig with every cluster
// changed by edit, and returns its path.
func kubeconfigWith(t *testing.T, edit func(*clientcmdapi.Cluster)) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	must(t, err)
	for _, c := range cfg.Clusters {
		edit(c)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, clientcmd.WriteToFile(*cfg, p))
	return p
}

// throwawayCA makes a self-signed CA for 127.0.0.1 that nothing trusts: its
// PEM, and the same certificate to serve TLS with.
func throwawayCA(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "e2e throwaway CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// assertNothingHeld fails when table has a stage Pod or a held Lease.
func assertNothingHeld(t *testing.T, table string) {
	t.Helper()
	assertNoStagePodsOf(t, table)
	l, err := client.CoordinationV1().Leases(ns).Get(context.Background(), lock.LeaseName(table), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err == nil && !lock.IsFree(l) {
		t.Errorf("the Lease of %s is still held by %s", table, *l.Spec.HolderIdentity)
	}
}

// TestInterruptDuringDiscovery points the push at an address that accepts
// connections and never answers, and sends one SIGINT while the push waits
// for the cluster: exit 130 (interrupted), at once, nothing created.
func TestInterruptDuringDiscovery(t *testing.T) {
	const table = "e2e12_discovery_sigint"
	removeStaged(t, table)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	var mu sync.Mutex
	var held []net.Conn
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	kc := kubeconfigWith(t, func(c *clientcmdapi.Cluster) { c.Server = "https://" + ln.Addr().String() })

	cmd := pluginCmd(nil, "push", smallDataset(t), "--table", table, "-n", ns, "--kubeconfig", kc)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	must(t, cmd.Start())
	select {
	case <-accepted:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the push never connected to the silent address:\n%s", errb.String())
	}
	time.Sleep(time.Second)
	must(t, cmd.Process.Signal(syscall.SIGINT))
	sent := time.Now()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running 20 s after Ctrl-C:\n%s", errb.String())
	}
	took := time.Since(sent)
	r := result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	if r.code != exitcode.Interrupted || took > 5*time.Second {
		t.Errorf("want exit 130 within 5 s of Ctrl-C, got exit %d after %.1f s:\n%s", r.code, took.Seconds(), r)
	}
	assertNothingHeld(t, table)
	t.Logf("exit %d %.2f s after Ctrl-C", r.code, took.Seconds())
}

// certSwitch is a relay in front of the apiserver that, once told to,
// answers every new connection with a certificate nothing trusts; the
// connections already open go on working.
type certSwitch struct {
	ln     net.Listener
	refuse atomic.Bool
}

func newCertSwitch(t *testing.T, upstream string, cert tls.Certificate) *certSwitch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	s := &certSwitch{ln: ln}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c ...net.Conn) {
		mu.Lock()
		conns = append(conns, c...)
		mu.Unlock()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			if s.refuse.Load() {
				go func() {
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
					_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
					_ = tc.Handshake()
					_ = tc.Close()
				}()
				continue
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			track(up)
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

// TestRefusedCertificateIsNotRetried: a certificate the kubeconfig does not
// trust stays untrusted, so a push must not retry it as a broken stream. It
// exits 3 (the kubeconfig) at once, naming the certificate problem and the
// fix, whether the certificate is refused at the first request or when the
// stream to the stage Pod opens.
func TestRefusedCertificateIsNotRetried(t *testing.T) {
	const table = "e2e12_refused_cert"
	caPEM, caCert := throwawayCA(t)
	wantWords := func(t *testing.T, r result) {
		t.Helper()
		// The cluster was reached; its certificate was refused. The fix
		// is in the kubeconfig's certificate authority.
		if !strings.Contains(r.stderr, "certificate") || !strings.Contains(r.stderr, "certificate-authority") || strings.Contains(r.stderr, "cannot reach the cluster") {
			t.Errorf("want the certificate problem and its fix (the kubeconfig's certificate-authority), not an unreachable cluster:\n%s", r.stderr)
		}
	}

	t.Run("a kubeconfig with another CA", func(t *testing.T) {
		removeStaged(t, table)
		kc := kubeconfigWith(t, func(c *clientcmdapi.Cluster) {
			c.CertificateAuthority, c.CertificateAuthorityData = "", caPEM
		})
		start := time.Now()
		r := runPlugin(t, nil, "push", smallDataset(t), "--table", table, "-n", ns, "--kubeconfig", kc)
		took := time.Since(start)
		if r.code != exitcode.Local || took >= pushpkg.RetryBackoff || strings.Contains(r.stderr, "retrying in") {
			t.Errorf("want exit 3 within one retry back-off (%s), got exit %d after %.2f s:\n%s", pushpkg.RetryBackoff, r.code, took.Seconds(), r)
		}
		wantWords(t, r)
		assertNothingHeld(t, table)
		t.Logf("exit %d after %.2f s", r.code, took.Seconds())
	})

	t.Run("a certificate refused when the stream opens", func(t *testing.T) {
		removeStaged(t, table)
		t.Cleanup(func() {
			// The push may have no way left to delete its Pod.
			_ = client.CoreV1().Pods(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))},
				metav1.ListOptions{LabelSelector: stagepod.Selector + "," + stagepod.LabelTable + "=" + stagepod.TableLabel(table)})
		})
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		must(t, err)
		u, err := url.Parse(cfg.Host)
		must(t, err)
		sw := newCertSwitch(t, u.Host, caCert)
		// The requests before the Pod share one connection, which stays
		// open; the stream to the Pod opens a new one, and meets the
		// refused certificate.
		cmd := pluginCmd(nil, "push", smallDataset(t), "--table", table, "-n", ns, "--server", "https://"+sw.ln.Addr().String())
		stderr, err := cmd.StderrPipe()
		must(t, err)
		var out, errOut strings.Builder
		cmd.Stdout = &out
		must(t, cmd.Start())
		var switched time.Time
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			errOut.WriteString(sc.Text() + "\n")
			if switched.IsZero() && strings.Contains(sc.Text(), "creating stage pod") {
				sw.refuse.Store(true)
				switched = time.Now()
			}
		}
		_ = cmd.Wait()
		took := time.Since(switched)
		r := result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
		if switched.IsZero() {
			t.Fatalf("the push never created its Pod:\n%s", r)
		}
		if r.code != exitcode.Local || strings.Contains(r.stderr, "retrying in") {
			t.Errorf("want exit 3 with no retry, got exit %d after %.1f s:\n%s", r.code, took.Seconds(), r)
		}
		wantWords(t, r)
		// The requests that clean up still share the connection opened
		// before the change.
		assertNothingHeld(t, table)
		t.Logf("exit %d %.1f s after the certificate changed", r.code, took.Seconds())
	})
}
