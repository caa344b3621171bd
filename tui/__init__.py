"""The Textual dashboard.

Data flows one way: `app.py` runs the collector (async) and the analysis (thread) as workers and
keeps one immutable `state.DashboardState`; the screens (`screens/`: fleet, endpoint, summary,
help) and the widgets (`widgets/`) watch it and render. What they render is computed by pure
modules: `rows.py` (fleet table cells), `table_model.py` (sort, filter, group), `render.py`
(the pane's and summary's tables), with the styles and glyphs of `look.py` (themes, NO_COLOR,
ASCII). `commands.py` is the palette's fleet commands, `remembered.py` the view kept between
runs. Intent goes back up by message (`messages.py`).
"""
