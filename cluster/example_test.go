package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/vkio/vkio/cluster"
	"github.com/vkio/vkio/cluster/natstest"
)

// Example runs a worker and a client against an embedded server: the client
// submits a job and waits for its durable result.
func Example() {
	dir, err := os.MkdirTemp("", "cluster-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := natstest.New(natstest.Options{StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL()) // in production: nats://host:4222 of a `nats-server -js`
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	ctx, stop := context.WithCancel(context.Background())
	cfg := cluster.Config{Prefix: "example"}
	worker, err := cluster.NewWorker(ctx, nc, cfg, cluster.WorkerOptions{
		Name: "worker-1",
		Handler: cluster.HandlerFunc(func(ctx context.Context, job *cluster.Job, out *cluster.Output) ([]byte, error) {
			fmt.Fprintf(out, "upper-casing %d bytes\n", len(job.Body)) // a live chunk for watchers
			return json.Marshal(map[string]string{"upper": string(bytes.ToUpper(job.Body))})
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	stopped := make(chan error)
	go func() { stopped <- worker.Run(ctx) }()

	client, err := cluster.NewClient(ctx, nc, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	receipt, err := client.Submit(ctx, cluster.Job{ID: "hello-1", ContentType: "text/plain", Body: []byte("hello")})
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Wait(ctx, receipt.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ID, res.Status, string(res.Data), res.Worker, res.Deliveries)

	stop()
	if err := <-stopped; err != nil {
		log.Fatal(err)
	}
	// Output: hello-1 ok {"upper":"HELLO"} worker-1 1
}
