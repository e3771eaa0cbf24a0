//go:build integration

package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/worker"

	"github.com/vektagraf/slipway/activities"
	"github.com/vektagraf/slipway/internal/notify"
	"github.com/vektagraf/slipway/internal/notify/notifytest"
	"github.com/vektagraf/slipway/internal/releaseapi"
	"github.com/vektagraf/slipway/internal/releases"
	"github.com/vektagraf/slipway/internal/slackapprove"
	"github.com/vektagraf/slipway/internal/spec"
	"github.com/vektagraf/slipway/workflows"
)

// slackWorker runs an in-process worker on its own queue whose notifications go to a slacktest server.
func slackWorker(t *testing.T, queue string) (*releases.Client, *notifytest.Slack) {
	t.Helper()
	sl := notifytest.NewSlack(t)
	prober, err := activities.NewProber(h.restCfg, activities.ProbeModeProxy, h.proxyURL)
	require.NoError(t, err)
	w := worker.New(h.temporal, queue, worker.Options{DisableRegistrationAliasing: true})
	workflows.Register(w)
	activities.Register(w, activities.Set{Kubernetes: &activities.Kubernetes{Client: h.cs}, Prober: prober,
		Registry: &activities.Registry{}, Scanners: h.scanners,
		Notifications: &activities.Notifications{Config: notify.Config{Token: "xoxb-integration", APIURL: sl.APIURL()},
			WebUI: "http://127.0.0.1:8233"}})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return &releases.Client{Temporal: h.temporal, Namespace: "default", TaskQueue: queue}, sl
}

// slackClick is a signed block_actions request for the button, as Slack sends it.
func slackClick(t *testing.T, secret, user, actionID, value, responseURL string) *http.Request {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type":         "block_actions",
		"user":         map[string]string{"id": user},
		"response_url": responseURL,
		"actions":      []map[string]string{{"action_id": actionID, "block_id": notify.ActionsBlockID, "value": value, "type": "button"}},
	})
	require.NoError(t, err)
	body := url.Values{"payload": {string(payload)}}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

func TestApprovalGateWithSlackThreadAndButtons(t *testing.T) {
	rc, sl := slackWorker(t, "slipway-people")
	s := appSpec(t, "people")
	s.Approval = &spec.Approval{Approvers: []string{"alice@example.com", "bob@example.com"}, Timeout: spec.Duration(time.Hour)}
	s.Notify.Slack = &spec.SlackNotify{Channel: "#releases"}
	pushDemo(t, "v1.0.0")
	ctx := deadline(t, 3*time.Minute)
	run, err := rc.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v1.0.0",
		Trigger: releaseapi.Trigger{Actor: "alice@example.com", Source: "test"}})
	require.NoError(t, err)
	waitForStage(t, run, releaseapi.StageApproval)

	// Refused by the validator: someone not in the list, and the release's own trigger (four eyes).
	_, _, err = rc.Decide(ctx, run.ID, true, releaseapi.ApprovalRequest{By: "mallory@example.com"})
	var refused *releases.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Contains(t, refused.Reason, "mallory@example.com is not an approver")
	_, _, err = rc.Decide(ctx, run.ID, true, releaseapi.ApprovalRequest{By: "alice@example.com"})
	require.ErrorAs(t, err, &refused)
	require.Contains(t, refused.Reason, "started this release and may not approve it")

	// Bob clicks Approve in Slack: the signed request goes through the endpoint, which sends the update.
	responses := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer responses.Close()
	respURL, err := url.Parse(responses.URL)
	require.NoError(t, err)
	handler := &slackapprove.Handler{SigningSecret: "integration-secret",
		Users:   slackapprove.UserMap{"U0BOB": "bob@example.com"},
		Decider: &slackapprove.TemporalDecider{Client: h.temporal}, HTTP: responses.Client(),
		ResponseHosts: []string{respURL.Hostname()}, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, slackClick(t, "integration-secret", "U0BOB", releaseapi.ActionApprove,
		run.ID+"|"+run.RunID, responses.URL+"/actions/1"))
	handler.Wait()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var res releaseapi.ReleaseResult
	require.NoError(t, rc.Follow(ctx, run, &res, nil))
	recordHistory(t, run, "release-approved-in-slack")
	require.Equal(t, "bob@example.com", res.Approval.By)
	require.Equal(t, slackapprove.Source, res.Approval.Source)

	// History holds one accepted update, Bob's; the refused ones never entered it.
	var accepted []string
	iter := h.temporal.GetWorkflowHistory(ctx, run.ID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
			accepted = append(accepted, string(a.GetAcceptedRequest().GetInput().GetArgs().GetPayloads()[0].GetData()))
		}
	}
	require.Len(t, accepted, 1)
	require.Contains(t, accepted[0], "bob@example.com")

	// Slack: one thread, from "release started" to "released", with the approval request and its buttons.
	posts := sl.Requests("chat.postMessage")
	require.GreaterOrEqual(t, len(posts), 10)
	first := posts[0].Form
	require.Empty(t, first.Get("thread_ts"))
	var texts []string
	for i, p := range posts {
		if i > 0 {
			require.NotEmpty(t, p.Form.Get("thread_ts"), "every later message is a reply in the thread")
		}
		texts = append(texts, p.Form.Get("text")+" "+p.Form.Get("blocks"))
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"release started", "approval needed before production", releaseapi.ActionApprove,
		"approved by bob@example.com", "released"} {
		require.Contains(t, all, want)
	}
	require.Contains(t, texts[len(texts)-1], "released")

	// v1.1.0, rejected with the starter's path (releases.Decide): rolled back, in a thread of its own.
	pushDemo(t, "v1.1.0")
	run, err = rc.StartRelease(ctx, releaseapi.ReleaseInput{Spec: s, Version: "v1.1.0",
		Trigger: releaseapi.Trigger{Actor: "alice@example.com", Source: "test"}})
	require.NoError(t, err)
	waitForStage(t, run, releaseapi.StageApproval)
	d, _, err := rc.Decide(ctx, run.ID, false, releaseapi.ApprovalRequest{By: "bob@example.com", Comment: "not before the sale"})
	require.NoError(t, err)
	require.False(t, d.Approved)
	err = rc.Follow(ctx, run, &res, nil)
	require.Equal(t, releaseapi.ErrRolledBack, appErrType(err), "%v", err)
	require.Contains(t, err.Error(), "rejected by bob@example.com: not before the sale")
	require.Equal(t, "blue", selectorColor(t, s.Environments.Production.Namespace, "demo-app-active"), "traffic stays on v1.0.0")

	more := sl.Requests("chat.postMessage")[len(posts):]
	require.NotEmpty(t, more)
	require.Empty(t, more[0].Form.Get("thread_ts"), "the second release starts a thread of its own")
	var second []string
	for _, p := range more[1:] {
		require.NotEmpty(t, p.Form.Get("thread_ts"))
		second = append(second, p.Form.Get("text")+" "+p.Form.Get("blocks"))
	}
	joined := strings.Join(second, "\n")
	require.Contains(t, joined, "rejected by bob@example.com")
	require.Contains(t, second[len(second)-1], "rolled back")
}

func TestDeadSlackDoesNotFailARelease(t *testing.T) {
	rc, sl := slackWorker(t, "slipway-deadslack")
	sl.Server.Stop() // nothing answers any more
	s := appSpec(t, "deadslack")
	s.Notify.Slack = &spec.SlackNotify{Channel: "#releases"}
	res, run, err := release(t, rc, s, "v1.0.0")
	require.NoError(t, err)
	require.Equal(t, "blue", res.ActiveColor)
	st, err := rc.Status(deadline(t, 30*time.Second), run.ID, run.RunID)
	require.NoError(t, err)
	require.Zero(t, st.Notifications.Sent)
	require.Positive(t, st.Notifications.Failed)
}
