package proxy_test

import (
	"log"
	"net/http"
	"os"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/proxy"
)

// Serve the Docker socket on a loopback port, in the default mode.
func ExampleNew() {
	h, err := proxy.New(proxy.Config{Socket: "/var/run/docker.sock", MaxConns: 64})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:2375", Handler: h}
	log.Fatal(srv.ListenAndServe())
}

// Build a ReverseProxy by hand, with a Director that fixes the API version.
func ExampleReverseProxy() {
	p := &proxy.ReverseProxy{
		Director: func(r *http.Request) {
			r.URL.Scheme = "http"
			r.URL.Host = proxy.DefaultHost
			r.URL.Path = "/v1.41" + r.URL.Path
		},
		Transport: proxy.NewTransport("/var/run/docker.sock", 16),
		Strategy:  bodycopy.Alloc,
		ErrorLog:  log.New(os.Stderr, "proxy: ", log.LstdFlags),
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:2375", p))
}
