"""A matplotlib backend that keeps every figure `plt.show()` shows, for the lesson kernel to save.

Select it with MPLBACKEND=module://capture_backend; this is how notebook front ends capture figures.
"""

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

shown: list[Figure] = []


def show(*args: object, **kwargs: object) -> None:
    """Hand every open figure to the kernel and close it, as a window closing would."""
    for manager in Gcf.get_all_fig_managers():
        figure = manager.canvas.figure
        assert isinstance(figure, Figure)
        shown.append(figure)
    Gcf.destroy_all()
