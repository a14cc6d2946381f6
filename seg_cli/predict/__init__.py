"""`seg predict` as a library: input sources -> a predictor -> output writers.

- `sources/`: one module per input kind. A source finds its inputs (before the model loads), names their outputs,
  yields items (a decoded image, or an error that is reported and skipped) and stores each item's outputs
  (seg_cli.predict.sources.base.Source). Today: `images` (files and folders; the CLI expands `@list` files) and
  `video` (video files and the videos in folders: frames in batches, one output video per input and kind).
- `video_io.py` and `video_writers.py`: PyAV (FFmpeg) reading videos upright with their exact timing, and writing
  predictions back with the source's timestamps, rotation and audio; `av` is imported only when a video is read.
- `predictor.py`: the model behind one call (a torch checkpoint or published weights, or an ONNX export), from an
  image to its decoded result (the task's decode rule: probability and mask at the photo's size).
- `writers/`: one module per `save=` kind (mask, color, overlay, prob, cutout), each naming its file suffix and
  drawing its picture from the decoded result; the names are seg_cli.choices.PREDICT_SAVE.
- `naming.py` and `marks.py`: output names that never land on a file `seg predict` did not write, and the mark
  that tells its outputs from the user's images. `run.py`: the loop that joins them.

A new input kind or output kind is one module beside the others. Nothing here imports torch at module
level: the command imports this before it loads torch.
"""
