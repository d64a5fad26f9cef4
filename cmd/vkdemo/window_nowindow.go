//go:build nowindow

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Built with -tags nowindow: vkdemo without GLFW (and so without libX11 and
// the X11 development headers). The window command is still listed, and
// says how to get it.

func init() { register(newWindowCmd) }

func newWindowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:                "window",
		Short:              "Show the Julia-set zoom live in a window (not in this build)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("window: this vkdemo was built with -tags nowindow; rebuild without it (needs the X11 development headers: scripts/deps.sh)")
		},
		Args: cobra.ArbitraryArgs,
	}
}
