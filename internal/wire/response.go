package wire

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"sync"
)

// response is what one response needs, allocated as one: the
// Response, its body when it has a Content-Length (the common case), and
// the storage for its header values.
type response struct {
	res  http.Response
	body lengthBody
	vals [responseVals]string
}

// responseVals is how many header values fit in a response.
const responseVals = 16

// readResponse reads the status line and header of the final response,
// passing 1xx responses to inf when it is not nil, else to the request's
// ClientTrace. An error wrapping errNoResponse means the connection ended
// before any byte.
func (rc *conn) readResponse(req *http.Request, inf Informer) (*http.Response, error) {
	for n1xx := 0; ; n1xx++ {
		if n1xx > max1xx {
			return nil, fmt.Errorf("%w: more than %d informational responses", errMalformed, max1xx)
		}
		if n1xx == 0 {
			if _, err := rc.br.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				if err == io.ErrUnexpectedEOF || isWriteRefused(err) {
					return nil, fmt.Errorf("%w: %w", errNoResponse, err)
				}
				return nil, err
			}
		}
		res, err := rc.readHead(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			return res, nil
		}
		if inf != nil {
			if err := inf.Got1xx(res.StatusCode, res.Header); err != nil {
				return nil, err
			}
			continue
		}
		if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, err
			}
		}
	}
}

// readHead parses one status line and header block.
func (rc *conn) readHead(req *http.Request) (*http.Response, error) {
	limit := maxHeaderBytes
	line, err := rc.readLine(rc.br, &limit)
	if err != nil {
		return nil, err
	}
	rr := new(response)
	res := &rr.res
	*res = http.Response{Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return nil, fmt.Errorf("%w: bad status line %q", errMalformed, clip(line))
	}
	switch line[7] {
	case '1':
	case '0':
		res.Proto, res.ProtoMinor = "HTTP/1.0", 0
	default:
		return nil, fmt.Errorf("%w: bad status line %q", errMalformed, clip(line))
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: bad status code in %q", errMalformed, clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return nil, fmt.Errorf("%w: bad status code in %q", errMalformed, clip(line))
	}
	res.StatusCode = code
	var reason []byte
	if len(line) > 12 {
		if line[12] != ' ' {
			return nil, fmt.Errorf("%w: bad status line %q", errMalformed, clip(line))
		}
		reason = line[13:]
	}
	if s, ok := statusLines[code]; ok && string(reason) == s[4:] {
		res.Status = s
	} else {
		res.Status = string(line[9:])
	}
	if !validHeaderValue(res.Status) {
		return nil, fmt.Errorf("%w: bad status line %q", errMalformed, clip(line))
	}

	if err := rc.readFields(rc.br, &limit); err != nil {
		return nil, err
	}
	var maps *sync.Pool
	if rc.t != nil {
		maps = &rc.t.headers
	}
	res.Header = rc.header(rr.vals[:], maps)
	rc.nextBody = &rr.body
	return res, nil
}

// statusLines maps a code to "NNN Text" for the standard texts.
var statusLines = map[int]string{}

func init() {
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			statusLines[code] = strconv.Itoa(code) + " " + text
		}
	}
}
