// Package notifytest runs a Slack Web API for tests: slack-go's slacktest server (the real protocol on
// loopback), plus what slacktest lacks: a record of every request as Slack would receive it, chat.update, and
// scripted failures (a 429 with Retry-After, an invalid_auth).
//
// slacktest answers chat.postMessage itself and forwards each posted message, as parsed (channel, text,
// thread_ts, blocks), to the clients of its RTM websocket; Messages reads them from there. It keeps no list of
// posted messages, knows no chat.update, accepts any token, and stamps messages with whole seconds (two posts
// in one second share a TS).
package notifytest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Request is one Web API call as the server received it.
type Request struct {
	// Method is the API method, e.g. "chat.postMessage".
	Method string
	// Form holds the call's arguments (token, channel, text, thread_ts, blocks as JSON, ...).
	Form url.Values
}

// Response is a scripted answer. Status 0 means 200; Body "" means {"ok":true}.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// RateLimited is Slack's 429 with a Retry-After header ("" leaves the header out).
func RateLimited(retryAfter string) Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return Response{Status: http.StatusTooManyRequests, Header: h, Body: `{"ok":false,"error":"ratelimited"}`}
}

// Fail is a Web API error: HTTP 200 with ok false and Slack's error code.
func Fail(code string) Response {
	return Response{Body: fmt.Sprintf(`{"ok":false,"error":%q}`, code)}
}

// Slack is the test server. Point a client at APIURL.
type Slack struct {
	// Server is the slacktest server behind the recorder.
	Server *slacktest.Server

	front *httptest.Server
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	requests []Request
	scripts  map[string][]Response
	messages []slack.Message
	arrived  chan struct{} // closed and replaced whenever a message arrives
}

// NewSlack starts the server and an RTM client that collects what slacktest forwards; both stop when the test
// ends.
func NewSlack(t testing.TB) *Slack {
	t.Helper()
	s := &Slack{scripts: map[string][]Response{}, arrived: make(chan struct{})}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.update", chatUpdate)
	})
	s.Server.Start()
	target, err := url.Parse(s.Server.GetAPIURL())
	if err != nil {
		t.Fatal(err)
	}
	s.proxy = httputil.NewSingleHostReverseProxy(target)
	s.front = httptest.NewServer(http.HandlerFunc(s.serve))

	rtm := slack.New("xoxb-notifytest", slack.OptionAPIURL(s.Server.GetAPIURL())).NewRTM()
	managed, collected := make(chan struct{}), make(chan struct{})
	go func() { defer close(managed); rtm.ManageConnection() }()
	go func() {
		defer close(collected)
		for {
			select {
			case ev := <-rtm.IncomingEvents:
				if m, ok := ev.Data.(*slack.MessageEvent); ok {
					s.mu.Lock()
					s.messages = append(s.messages, slack.Message(*m))
					close(s.arrived)
					s.arrived = make(chan struct{})
					s.mu.Unlock()
				}
			case <-managed:
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = rtm.Disconnect()
		select {
		case <-collected:
		case <-time.After(5 * time.Second):
			t.Error("notifytest: the RTM client did not stop")
		}
		s.front.Close()
		s.Server.Stop()
	})
	return s
}

// APIURL is the Web API base URL to give the client (slack.OptionAPIURL).
func (s *Slack) APIURL() string { return s.front.URL + "/" }

// Script queues answers for method: its next calls get them, in order, instead of slacktest's.
func (s *Slack) Script(method string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[method] = append(s.scripts[method], rs...)
}

// Requests returns the calls of method so far ("" for all), scripted ones included.
func (s *Slack) Requests(method string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if method == "" || r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// Messages waits until slacktest has forwarded at least n posted messages and returns them, in the order they
// arrived (slacktest forwards each from its own goroutine, so not necessarily the order they were posted).
func (s *Slack) Messages(t testing.TB, n int) []slack.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			out := append([]slack.Message(nil), s.messages...)
			s.mu.Unlock()
			return out
		}
		arrived := s.arrived
		have := len(s.messages)
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("notifytest: %d messages reached slacktest's feed, want %d", have, n)
		}
	}
}

func (s *Slack) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form, _ := url.ParseQuery(string(body))
	for k, vs := range r.URL.Query() {
		form[k] = append(form[k], vs...)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: method, Form: form})
	var scripted *Response
	if q := s.scripts[method]; len(q) > 0 {
		scripted, s.scripts[method] = &q[0], q[1:]
	}
	s.mu.Unlock()

	if scripted != nil {
		for k, vs := range scripted.Header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		if scripted.Status != 0 {
			w.WriteHeader(scripted.Status)
		}
		_, _ = io.WriteString(w, cmp.Or(scripted.Body, `{"ok":true}`))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	s.proxy.ServeHTTP(w, r)
}

// chatUpdate is the chat.update slacktest lacks: it answers like Slack, echoing channel, ts and text.
func chatUpdate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Form.Get("ts") == "" || r.Form.Get("channel") == "" {
		_, _ = io.WriteString(w, `{"ok":false,"error":"message_not_found"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ok": true, "channel": r.Form.Get("channel"), "ts": r.Form.Get("ts"), "text": r.Form.Get("text"),
	})
}
