package devset_test

import (
	"testing"

	"github.com/vkio/vkio/gpu/gputest"
)

func TestMain(m *testing.M) { gputest.Main(m) }
