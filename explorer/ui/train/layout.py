"""The Train tab's controls and their layout: the run's settings, the buttons, the progress,
the curves and the samples; side by side when there is room, stacked when narrow."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from explorer.train import (
    TASKS,
    available_devices,
    bundled_names,
)
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
}
OPEN_FILE = "Open text file…"


class TrainPanelLayout:
    """A mixin of ``TrainPanel``."""

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        font = self.font()
        font.setPointSize(max(font.pointSize(), 13))
        self.setFont(font)
        self.data_box = QComboBox()
        self.data_box.addItems(bundled_names())
        self.data_box.addItem(OPEN_FILE)
        self.data_box.activated.connect(self._on_data_chosen)
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
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.resume_button.clicked.connect(self._on_resume_clicked)
        self.follow_button = QPushButton("Follow a run…")
        self.follow_button.setToolTip("Show a run that another process writes (the command "
                                      "line, torchrun, another window) live, read-only")
        self.follow_button.clicked.connect(self._on_follow_clicked)
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
        self.smaller_button.clicked.connect(lambda: self._continue_after_oom(smaller=True))
        self.cpu_button.clicked.connect(lambda: self._continue_after_oom(cpu=True))
        oom_row = QHBoxLayout()
        oom_row.addWidget(self.smaller_button)
        oom_row.addWidget(self.cpu_button)
        self._show_oom_actions(False)

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
        self._root = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._root.addLayout(left, 2)
        self._root.addLayout(right, 3)

    NARROW = 980  # px: below this width the curves go under the controls

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        wanted = (QBoxLayout.Direction.TopToBottom if event.size().width() < self.NARROW
                  else QBoxLayout.Direction.LeftToRight)
        if self._root.direction() != wanted:
            self._root.setDirection(wanted)
            narrow = wanted == QBoxLayout.Direction.TopToBottom
            self._root.setStretch(0, 0 if narrow else 2)  # stacked: the curves take the rest
            self._root.setStretch(1, 1 if narrow else 3)
            self.curves.setMinimumHeight(320 if wanted == QBoxLayout.Direction.TopToBottom
                                         else 0)
        super().resizeEvent(event)
