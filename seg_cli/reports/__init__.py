"""What a run leaves for people to look at: plots drawn from plain data (lists, dicts) into the run folder, and
the pages that show them.

Each plot module turns metrics into the data of one figure (`*_data`) and draws that data (`draw_*`), so
tests check the numbers a picture is made of. matplotlib is imported only when a figure is drawn, with its
headless Agg canvas, and `safe` keeps a failed drawing from failing a run. `page` writes a run folder's
self-contained report.html (`run_folder` reads the folder, `environment` records what the run ran on, `html` the
markup), `compare` the page of several runs with their curves overlaid (`curves_overlay`).
"""
