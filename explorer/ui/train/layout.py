"""The Train tab's controls and their layout: the run's settings, the buttons, the progress,
the curves and the samples; side by side when there is room, stacked when narrow."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.train import (
    TASKS,
    StepResult,
    Trainer,
    available_devices,
    bundled_names,
)
from explorer.train.devices import precision_label
from explorer.train.progress import format_duration, format_rate
from explorer.ui.train.plots import TrainCurves

MODEL_SIZES = {
    "tiny (1 layer, d_e 32)": {"n_layers": 1, "d_e": 32, "n_heads": 2, "l_max": 32},
    "small (2 layers, d_e 64)": {"n_layers": 2, "d_e": 64, "n_heads": 4, "l_max": 64},
    "medium (4 layers, d_e 128)": {"n_layers": 4, "d_e": 128, "n_heads": 4, "l_max": 64},
}
TASK_LABELS = {
    "next-token": "next token · DTransformer (Alg 13)",
    "masked": "masked tokens · ETransformer (Alg 12)",
    "seq2seq": "sequence to sequence · EDTransformer (Alg 11)",
    "classify": "classification · ETransformer + class head",
    "last-token": "last token only · DTransformer (grokking)",
}
OPEN_FILE = "Open text file…"


class TrainForm:
    """The controls, curves and messages of ``panel`` (a ``TrainPanel``), laid out in it:
    ``panel.form``. Its buttons call the panel's public methods."""

    NARROW = 980  # px: below this width the curves go under the controls

    def __init__(self, panel: QWidget) -> None:
        self.panel = panel
        self.last_val: float | None = None  # the last validation loss shown
        font = panel.font()
        font.setPointSize(max(font.pointSize(), 13))
        panel.setFont(font)
        self.data_box = QComboBox()
        self.data_box.addItems(bundled_names())
        self.data_box.addItem(OPEN_FILE)
        self.data_box.activated.connect(self.choose_data)
        self.task_box = QComboBox()
        for task in TASKS:
            self.task_box.addItem(TASK_LABELS[task], task)
        self.size_box = QComboBox()
        self.size_box.addItems(list(MODEL_SIZES))
        self.size_box.setCurrentIndex(1)
        self.tokenizer_box = QComboBox()
        self.tokenizer_box.addItems(["char", "word", "bpe", "wordpiece", "unigram"])
        self.batch_spin = QSpinBox(minimum=1, maximum=4096, value=32)
        self.lr_spin = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=1.0, value=1e-3,
                                      singleStep=1e-4)
        self.steps_spin = QSpinBox(minimum=1, maximum=10_000_000, value=2000, singleStep=100)
        self.snapshot_spin = QSpinBox(minimum=0, maximum=1_000_000, value=0, singleStep=10)
        self.snapshot_spin.setSpecialValueText("off")
        self.snapshot_spin.setSuffix(" steps")
        self.snapshot_spin.setToolTip("Keep the weights every N steps (and at step 0) in the "
                                      "run folder's snapshots/, for the Time-lapse tab")
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", *available_devices()])
        self.precision_box = QComboBox()
        for name, text in (("auto", "auto (bf16 where it pays)"), ("fp32", "fp32"),
                           ("bf16", "bf16 autocast")):
            self.precision_box.addItem(text, name)
        self.precision_box.setToolTip("bf16 autocast keeps fp32 weights and loss; auto uses it "
                                      "where the device computes bf16 natively and the model "
                                      "is wide enough for it to pay")
        form = QFormLayout()
        for label, widget in (("Data", self.data_box), ("Task", self.task_box),
                              ("Model size", self.size_box), ("Tokenizer", self.tokenizer_box),
                              ("Batch size", self.batch_spin), ("Learning rate", self.lr_spin),
                              ("Steps", self.steps_spin),
                              ("Snapshot every", self.snapshot_spin),
                              ("Device", self.device_box),
                              ("Precision", self.precision_box)):
            form.addRow(label, widget)
        settings = QGroupBox("Run")
        settings.setLayout(form)
        self.settings_box = settings  # hidden while following a run: its settings are not ours

        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.save_button = QPushButton("Save checkpoint…")
        self.resume_button = QPushButton("Resume checkpoint…")
        self.start_button.clicked.connect(panel.start)
        self.pause_button.clicked.connect(panel.toggle_pause)
        self.stop_button.clicked.connect(panel.stop)
        self.save_button.clicked.connect(panel.ask_save)
        self.resume_button.clicked.connect(panel.ask_resume)
        self.follow_button = QPushButton("Follow a run…")
        self.follow_button.setToolTip("Show a run that another process writes (the command "
                                      "line, torchrun, another window) live, read-only")
        self.follow_button.clicked.connect(panel.following.choose)
        buttons = QGridLayout()  # two rows, so a narrow tab still shows every button
        for i, b in enumerate((self.start_button, self.pause_button, self.stop_button)):
            buttons.addWidget(b, 0, i)
        buttons.addWidget(self.save_button, 1, 0, 1, 2)
        buttons.addWidget(self.resume_button, 1, 2)
        buttons.addWidget(self.follow_button, 2, 0, 1, 3)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        self.device_label = QLabel("")
        self.device_label.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.smaller_button = QPushButton("Continue with a smaller batch")
        self.cpu_button = QPushButton("Continue on the CPU")
        self.smaller_button.clicked.connect(lambda: panel.continue_after_oom(smaller=True))
        self.cpu_button.clicked.connect(lambda: panel.continue_after_oom(cpu=True))
        oom_row = QHBoxLayout()
        oom_row.addWidget(self.smaller_button)
        oom_row.addWidget(self.cpu_button)
        self.show_oom_actions(False)

        self.curves = TrainCurves()
        self.log_check = QCheckBox("log-scale loss")
        self.log_check.toggled.connect(self.curves.set_log_loss)
        self.sample_view = QPlainTextEdit(readOnly=True)
        self.sample_view.setPlaceholderText("Samples from the model appear here as it trains.")
        self.sample_view.setMaximumHeight(140)

        left = QVBoxLayout()
        left.addWidget(settings)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.device_label)
        left.addWidget(self.message)
        left.addLayout(oom_row)
        self.sample_label = QLabel("Sample")
        left.addWidget(self.sample_label)
        left.addWidget(self.sample_view)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.log_check)
        right.addWidget(self.curves, 1)
        # Side by side when there is room; the curves go below the controls in a narrow tab.
        self._root = QBoxLayout(QBoxLayout.Direction.LeftToRight, panel)
        self._root.addLayout(left, 2)
        self._root.addLayout(right, 3)

    def choose_data(self, index: int) -> None:
        if self.data_box.itemText(index) != OPEN_FILE:
            return
        path, _ = QFileDialog.getOpenFileName(self.panel, "Open a UTF-8 text file", "",
                                              "Text files (*.txt *.tsv *.csv);;All files (*)")
        if path:
            self.panel.open_data_file(path)
        else:
            self.data_box.setCurrentIndex(max(0, index - 1))

    def open_data_file(self, path: str | Path) -> None:
        """Use a text file as data (it is read and checked when training starts)."""
        path = str(path)
        if self.data_box.findText(path) < 0:
            self.data_box.insertItem(self.data_box.count() - 1, path)
        self.data_box.setCurrentIndex(self.data_box.findText(path))

    def show_trainer(self, trainer: Trainer) -> None:
        """A prepared run: its length, model, device, precision and data."""
        self.progress.setRange(0, trainer.config.steps)
        self.progress.setValue(trainer.step)
        cfg = trainer.model.cfg
        self.device_label.setText(
            f"{cfg.algorithm_name} · {trainer.model.num_parameters():,} parameters · "
            f"on {trainer.device_label} · {_precision_text(trainer)}\n"
            f"{trainer.data.describe()}"
        )

    def reset_curves(self) -> None:
        """Empty curves, no validation loss yet."""
        self.curves.reset()
        self.last_val = None

    def add_results(self, results: list[StepResult]) -> None:
        """New points on the curves (the last validation loss among them is kept)."""
        self.curves.append(results)
        self.last_val = next((r.val_loss for r in reversed(results)
                              if r.val_loss is not None), self.last_val)

    def show_progress(self, r: StepResult, total: int) -> None:
        """The bar at step result ``r`` of ``total``."""
        val = f" · val {self.last_val:.3f}" if self.last_val is not None else ""
        self.progress.setValue(r.step)
        self.progress.setFormat(
            f"step {r.step:,} / {total:,} · loss {r.loss:.3f}{val} · "
            f"{format_rate(r.tokens_per_s)} · {format_duration(r.eta_s)} left"
        )

    def show_finished(self, reason: str) -> None:
        """The run ended (``reason``: "done" | "stopped" | "failed")."""
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("not started")
        elif reason != "failed":
            progress = self.progress
            progress.setFormat(progress.format().split(" · ")[0] + f" · {reason}")

    def show_oom_actions(self, visible: bool) -> None:
        """The buttons that go on after running out of memory (smaller, on the CPU)."""
        self.smaller_button.setVisible(visible)
        self.cpu_button.setVisible(visible)

    def show_training_parts(self, visible: bool) -> None:
        """This window's own run settings, buttons and samples: hidden while following, so
        the followed run's settings and curves have the room."""
        for w in (self.settings_box, self.start_button, self.pause_button, self.stop_button,
                  self.save_button, self.resume_button, self.sample_label, self.sample_view):
            w.setVisible(visible)

    def fit(self, width: int) -> None:
        """Side by side when there is room, stacked below ``NARROW`` pixels."""
        wanted = (QBoxLayout.Direction.TopToBottom if width < self.NARROW
                  else QBoxLayout.Direction.LeftToRight)
        if self._root.direction() != wanted:
            self._root.setDirection(wanted)
            narrow = wanted == QBoxLayout.Direction.TopToBottom
            self._root.setStretch(0, 0 if narrow else 2)  # stacked: the curves take the rest
            self._root.setStretch(1, 1 if narrow else 3)
            self.curves.setMinimumHeight(320 if wanted == QBoxLayout.Direction.TopToBottom
                                         else 0)


def _precision_text(trainer: Trainer) -> str:
    label = precision_label(trainer.precision, trainer.device, trainer.config.tf32)
    note = getattr(trainer, "precision_note", "")
    return f"{label}" + (f" ({note})" if note else "")


def ask_user(parent: QWidget, title: str, text: str) -> bool:
    """A Yes/Cancel question; True for Yes."""
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes
                                  | QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes
