package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// The Docker client library talks to the simulator as to a daemon.
func TestMobyClient(t *testing.T) {
	srv := startServer(t)
	cli, err := client.New(client.WithHost("unix://"+srv.Path()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ping, err := cli.Ping(ctx, client.PingOptions{})
	if err != nil || ping.APIVersion != APIVersion || ping.OSType != "linux" {
		t.Errorf("Ping = %+v, %v; want API %s, linux", ping, err, APIVersion)
	}
	if v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{}); err != nil || v.APIVersion != APIVersion {
		t.Errorf("ServerVersion = %+v, %v", v, err)
	}
	if info, err := cli.Info(ctx, client.InfoOptions{}); err != nil || info.Info.ServerVersion != ServerVersion {
		t.Errorf("Info = %+v, %v", info.Info.ServerVersion, err)
	}
	if list, err := cli.ContainerList(ctx, client.ContainerListOptions{}); err != nil || len(list.Items) != 10 {
		t.Errorf("ContainerList: %d items, %v; want 10", len(list.Items), err)
	}
	if c, err := cli.ContainerInspect(ctx, "abc", client.ContainerInspectOptions{}); err != nil || c.Container.ID != "abc" {
		t.Errorf("ContainerInspect: %q, %v", c.Container.ID, err)
	}

	wait := cli.ContainerWait(ctx, "abc", client.ContainerWaitOptions{})
	select {
	case res := <-wait.Result:
		if res.StatusCode != 0 || res.Error != nil {
			t.Errorf("ContainerWait = %+v", res)
		}
	case err := <-wait.Error:
		t.Errorf("ContainerWait: %v", err)
	}

	logs, err := cli.ContainerLogs(ctx, "abc", client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		t.Errorf("logs: %v", err)
	}
	logs.Close()
	if stdout.Len() == 0 || stderr.Len() == 0 {
		t.Errorf("logs: stdout %q, stderr %q; want both", stdout.String(), stderr.String())
	}

	save, err := cli.ImageSave(ctx, []string{"lab/busybox"})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, save)
	save.Close()
	if got := [32]byte(h.Sum(nil)); got != ContentSHA256(1<<20) {
		t.Errorf("ImageSave: sha256 %x; want that of Content(1MiB)", got)
	}

	att, err := cli.ContainerAttach(ctx, "abc", client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(att.Conn, "hello\n")
	att.CloseWrite()
	stdout.Reset()
	stderr.Reset()
	if _, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader); err != nil {
		t.Errorf("attach: %v", err)
	}
	att.Close()
	if stdout.String() != "hello\n" || stderr.String() != "stdin closed after 6 bytes\n" {
		t.Errorf("attach: stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	ev := cli.Events(ctx, client.EventsListOptions{})
	select {
	case m := <-ev.Messages:
		if m.Type != "container" || m.Actor.ID == "" || m.TimeNano == 0 {
			t.Errorf("event %+v", m)
		}
	case err := <-ev.Err:
		t.Errorf("Events: %v", err)
	}
	cancel()
	<-ev.Err // the events goroutine ends with the context
}
