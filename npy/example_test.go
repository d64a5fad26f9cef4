package npy_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/vkio/vkio/npy"
)

// Write a 2x2 float32 array as numpy's np.save would, then read it back.
func Example() {
	var data []byte
	for _, v := range []float32{1, 2, 3, 4} {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	var file bytes.Buffer
	if err := npy.Write(&file, "<f4", []int64{2, 2}, data); err != nil {
		fmt.Println(err)
		return
	}
	a, err := npy.Read(file.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Descr, npy.FormatShape(a.Shape), len(a.Data), "bytes")
	fmt.Println(math.Float32frombits(binary.LittleEndian.Uint32(a.Data[12:])))

	_, err = npy.Read([]byte("P6 2 2 255"))
	fmt.Println(err)
	// Output:
	// <f4 (2, 2) 16 bytes
	// 4
	// not a .npy file
}
