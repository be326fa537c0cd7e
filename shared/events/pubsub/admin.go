package pubsubevents

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/melmastoon/bff-backoffice/shared/derrors"
)

// The admin helpers below are for the emulator (dev stack, tests). In GCP the
// topics and subscriptions are Terraform's, and the functions' service
// accounts are not allowed to create them.

// pushAckDeadline leaves a slow local handler time to finish before the
// emulator redelivers.
const pushAckDeadline = 60

// EnsureTopics creates the topics (ids, e.g. subjects) in projectID that do
// not exist yet.
func EnsureTopics(ctx context.Context, projectID string, topicIDs ...string) (err error) {
	defer derrors.Wrap(&err, "pubsubevents.EnsureTopics(%q)", projectID)
	c, err := pubsub.NewClient(ctx, projectID)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, id := range topicIDs {
		if err := ensureTopic(ctx, c, id); err != nil {
			return err
		}
	}
	return nil
}

func ensureTopic(ctx context.Context, c *pubsub.Client, topicID string) error {
	name := topicName(c.Project(), topicID)
	_, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}

// EnsurePushSubscription makes subscription subID on topicID push to
// pushEndpoint, creating the topic and the subscription when missing and
// repointing an existing subscription (the dev server may have moved port).
//
// The push body is the Pub/Sub wrapper {message, subscription}. To feed it to
// a function through the functions framework's own conversion, the endpoint's
// path must contain projects/<P>/topics/<T> (consume.Push has no such need).
func EnsurePushSubscription(ctx context.Context, projectID, topicID, subID, pushEndpoint string) (err error) {
	defer derrors.Wrap(&err, "pubsubevents.EnsurePushSubscription(%q)", subID)
	if pushEndpoint == "" {
		return errors.New("push endpoint is required")
	}
	c, err := pubsub.NewClient(ctx, projectID)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := ensureTopic(ctx, c, topicID); err != nil {
		return err
	}
	topic := topicName(projectID, topicID)
	name := fmt.Sprintf("projects/%s/subscriptions/%s", projectID, subID)
	push := &pubsubpb.PushConfig{PushEndpoint: pushEndpoint}
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:               name,
		Topic:              topic,
		PushConfig:         push,
		AckDeadlineSeconds: pushAckDeadline,
	})
	if err == nil {
		return nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create %s: %w", name, err)
	}
	got, err := c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
	if err != nil {
		return fmt.Errorf("get %s: %w", name, err)
	}
	if got.GetTopic() != topic {
		// A subscription cannot change topic; silently keeping the old one
		// would deliver the wrong events.
		return fmt.Errorf("%s exists on topic %s, not %s", name, got.GetTopic(), topic)
	}
	if got.GetPushConfig().GetPushEndpoint() == pushEndpoint {
		return nil
	}
	if err := c.SubscriptionAdminClient.ModifyPushConfig(ctx, &pubsubpb.ModifyPushConfigRequest{
		Subscription: name,
		PushConfig:   push,
	}); err != nil {
		return fmt.Errorf("repoint %s: %w", name, err)
	}
	return nil
}

func topicName(projectID, topicID string) string {
	return fmt.Sprintf("projects/%s/topics/%s", projectID, topicID)
}
