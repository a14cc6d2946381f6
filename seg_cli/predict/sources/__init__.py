"""The input sources of `seg predict`: one module per input kind (seg_cli.predict.sources.base.Source).

`images` reads image files and folders. A new kind (a video: many frames per input, stored as one video per
input and kind) is one module beside it, overriding `items`, `store` and `close`.
"""
