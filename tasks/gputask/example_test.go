package gputask_test

import (
	"encoding/binary"
	"fmt"
	"log"

	"github.com/vkio/vkio/gpu"
	"github.com/vkio/vkio/io"
	"github.com/vkio/vkio/tasks"
	"github.com/vkio/vkio/tasks/gputask"
)

// A pipeline whose GPU stage is a gputask.Dispatcher: each frame fills its
// slot's output buffer with the frame number (a fill command standing in
// for a kernel dispatch), and the CPU stage reads the first word back.
func Example() {
	x := io.NewBlocking().Io()
	d, err := gpu.Open(gpu.OptionsFromEnv()) // VKIO_DEVICE, VKIO_VALIDATION
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	disp, err := gputask.New(d, 2, 16, gpu.HostVisible, func(b *gpu.Batch, frame int, out *gpu.Buffer) error {
		return b.Fill(out, 0, out.Size(), uint32(frame))
	})
	if err != nil {
		log.Fatal(err)
	}
	defer disp.Close()
	p := &tasks.Pipeline{
		Frames: 4, Depth: disp.Slots(), Dispatcher: disp, FrameBytes: disp.FrameBytes(),
		Sinks: []tasks.Sink{tasks.SinkFunc(func(x io.Io, frame int, data []byte) error {
			fmt.Printf("frame %d: %d bytes, first word %d\n", frame, len(data), binary.LittleEndian.Uint32(data))
			return nil
		})},
	}
	rep, err := p.Run(x)
	fmt.Println(rep.Frames, "frames, err:", err)
	// Output:
	// frame 0: 16 bytes, first word 0
	// frame 1: 16 bytes, first word 1
	// frame 2: 16 bytes, first word 2
	// frame 3: 16 bytes, first word 3
	// 4 frames, err: <nil>
}
