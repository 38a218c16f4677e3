// Command gendataset writes a sample image dataset of real generated images
// for any image task (annotations, masks or keypoint columns as the task
// needs), for the demo, the tests and the benchmarks.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

func main() {
	images := flag.Int("images", 200, "number of images")
	size := flag.Int("size", 64, "width and height of the images, in pixels")
	ext := flag.String("ext", ".jpg", "image extension: .jpg, .jpeg or .png")
	noise := flag.Bool("noise", false, "incompressible images (their size grows with the pixels)")
	task := flag.String("task", "image_classification", "image task: image_classification, object_detection, semantic_segmentation or keypoint_detection")
	keypoints := flag.Int("keypoints", 3, "keypoints per image (keypoint_detection)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gendataset [flags] <folder>")
		os.Exit(2)
	}
	o := fixture.Options{Images: *images, Width: *size, Height: *size, Ext: *ext, Noise: *noise,
		Labels: []string{"cat", "dog"}, Keypoints: *keypoints}
	switch *task {
	case "image_classification":
	case fixture.ObjectDetection, fixture.SemanticSegmentation, fixture.KeypointDetection:
		o.Task = *task
	default:
		fmt.Fprintf(os.Stderr, "error: -task %q is not an image task\n", *task)
		os.Exit(2)
	}
	err := fixture.Write(flag.Arg(0), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
