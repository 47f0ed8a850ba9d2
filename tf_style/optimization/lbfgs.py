"""Limited-memory BFGS in TensorFlow, with its state kept between calls.

Style transfer reports progress every few steps; an optimiser that has to be
restarted for each chunk (like a call to a one-shot minimiser) throws away its
curvature history each time. Here the history lives in ``tf.Variable`` s, and
`LBFGS.step` is one iteration that can be called as often as needed.

Each iteration: the L-BFGS inverse-Hessian approximation (in the compact form
of Byrd, Nocedal & Schnabel 1994, built on a multiple of the identity or on a
per-component diagonal scaling) gives a direction; a backtracking line search
accepts the first step that decreases the loss enough (Armijo condition),
usually the first one tried, so an iteration usually costs one forward and
backward pass.

The direction, a trial point and the update are three compiled functions, and
the line search between them is a Python loop. The network sits in one of them
only, so it is traced and optimised once; as one compiled iteration (which
calls the network at its first point and from inside the line search) it was
optimised as a graph three times as large, which made the first step slower
(docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

# Armijo sufficient-decrease constant, and the step shrink factor of the line search.
_ARMIJO = 1e-4
_SHRINK = 0.5
# Without curvature pairs, each gradient step tries this many times the last accepted length.
_GROW = 4.0
# Diagonal scaling: decay of the running mean of squared gradients, and the floor added to its
# square root, as a fraction of that root's mean (a component whose gradient has been zero gets
# 11 times the scaling of one with an average gradient, not an unbounded one).
_SCALING_DECAY = 0.5
_SCALING_FLOOR = 0.1
SCALINGS = ("diagonal", "scalar")


class LBFGS:
    """Minimises ``loss(x)`` over a ``tf.Variable`` x.

    Args:
        variable: The variable to optimise, updated in place.
        value_and_gradient: ``f(x) -> (loss, gradient, aux)``: a scalar loss, its
            gradient with x's shape, and a dict of scalar tensors reported with it.
        memory: Number of (s, y) curvature pairs kept.
        learning_rate: Initial step length tried by the line search (1.0 is the
            natural quasi-Newton step).
        max_line_search: Halvings tried before the iteration gives up; then the
            history is cleared and x is left where it was.
        bounds: Optional (low, high): every iterate is projected onto this box
            (for pictures, [0, 1]). The line search and the curvature pairs use the
            step actually taken, so the method stays a descent method.
        scaling: The initial inverse Hessian H0 that the curvature pairs correct.
            "scalar": gamma I, the textbook choice (Nocedal & Wright, eq. 7.20).
            "diagonal": gamma diag(h), h_i proportional to 1 / (sqrt(v_i) + 0.1
            mean(sqrt(v))), with v a running mean (decay 0.5) of the squared
            gradient and h scaled to mean 1: components whose gradient is
            persistently small take larger steps, as in Adam. H0 stays positive
            definite, so every direction is still a descent direction.
        min_first_change: Optional: the cautious first step (a gradient step of
            total absolute change ``learning_rate``, Nocedal & Wright's and most
            libraries' choice) is lengthened, if need be, until it changes the
            largest component by this much. That step's per-component change
            shrinks with the number of components: at 384 px it moves no pixel
            by a tenth of an 8-bit level, which a network computing in bfloat16
            rounds away (the loss cannot see the step; the line search fails).

    Example:
        >>> x = tf.Variable([3.0, -2.0])
        >>> def f(v):
        ...     loss = tf.reduce_sum((v - 1.0) ** 2)
        ...     return loss, 2.0 * (v - 1.0), {}
        >>> optimizer = LBFGS(x, f)
        >>> for _ in range(5):
        ...     loss, _ = optimizer.step()
    """

    def __init__(
        self,
        variable: tf.Variable,
        value_and_gradient: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor, dict]],
        memory: int = 10,
        learning_rate: float = 1.0,
        max_line_search: int = 10,
        bounds: tuple[float, float] | None = None,
        scaling: str = "scalar",
        min_first_change: float | None = None,
    ):
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {', '.join(SCALINGS)}, got {scaling!r}")
        shape = variable.shape
        self.variable = variable
        self._value_and_gradient = value_and_gradient
        self.memory = memory
        self.learning_rate = learning_rate
        self.max_line_search = max_line_search
        self.bounds = bounds
        self.scaling = scaling
        self.min_first_change = min_first_change
        self.s_history = tf.Variable(tf.zeros([memory, *shape]), trainable=False, name="s_history")
        self.y_history = tf.Variable(tf.zeros([memory, *shape]), trainable=False, name="y_history")
        self.num_pairs = tf.Variable(0, trainable=False, name="num_pairs")
        self.newest = tf.Variable(-1, trainable=False, name="newest")
        self.iterations = tf.Variable(0, trainable=False, name="iterations")
        self.evaluations = tf.Variable(0, trainable=False, name="evaluations")
        # Iterations whose line search found no acceptable step (the history was reset).
        self.failed_line_searches = 0
        # Length of the last accepted step taken without curvature pairs (0: none since the last reset).
        self.gradient_step_length = tf.Variable(0.0, trainable=False, name="gradient_step_length")
        self.loss = tf.Variable(float("inf"), trainable=False, name="loss")
        self.gradient = tf.Variable(tf.zeros(shape), trainable=False, name="gradient")
        # Running mean of the squared gradient, for the diagonal scaling.
        self.squared_gradient = tf.Variable(tf.zeros(shape), trainable=False, name="squared_gradient")
        self._aux: dict = {}
        # Compiled parts of an iteration; Python runs the line search between them. Only
        # `_try` holds the network, so its graph is built and optimised once.
        # No AutoGraph (branches are explicit `tf.cond` and `tf.where`): converting these
        # methods' source made the first step slower.
        self._start_function = tf.function(self._start, autograph=False)
        self._try_function = tf.function(self._try, autograph=False)
        self._accept_function = tf.function(self._accept, autograph=False)

    def _project(self, x):
        return x if self.bounds is None else tf.clip_by_value(x, self.bounds[0], self.bounds[1])

    def _freeze_active(self, x, direction):
        """Zeroes the components of `direction` that push out of the box where x is on its edge."""
        if self.bounds is None:
            return direction
        low, high = self.bounds
        blocked = ((x <= low) & (direction < 0.0)) | ((x >= high) & (direction > 0.0))
        return tf.where(blocked, tf.zeros_like(direction), direction)

    def _initial_scaling(self):
        """h, the diagonal of H0 / gamma: ones, or the diagonal scaling (mean 1)."""
        if self.scaling == "scalar":
            return tf.ones_like(self.gradient)
        root = tf.sqrt(tf.convert_to_tensor(self.squared_gradient))
        inverse = 1.0 / (root + _SCALING_FLOOR * tf.reduce_mean(root) + 1e-30)
        return inverse / tf.reduce_mean(inverse)

    def _direction(self, gradient):
        """-H g, with H the L-BFGS inverse-Hessian approximation from the stored pairs.

        Uses the compact form of Byrd, Nocedal & Schnabel (1994, Theorem 2.2): with the
        m pairs as rows of S and Y (oldest first), R the upper triangle of S Y^T, D
        its diagonal and H0 = gamma diag(h) (gamma = s.y / y.H0 y of the newest
        pair, h from `scaling`),

            H g = H0 g + S^T (R^-T (D + Y H0 Y^T) p - R^-T Y H0 g) - H0 Y^T p,
            p = R^-1 S g.

        It gives the two-loop recursion's direction (Nocedal & Wright, Algorithm
        7.4) with a few matrix products and two m x m triangular solves instead of
        2m dependent loop steps, so the compiled function has no loop. Without
        pairs, the direction is -diag(h) g.
        """
        count = tf.convert_to_tensor(self.num_pairs)
        scaling = self._initial_scaling()
        return tf.cond(
            count > 0, lambda: self._quasi_newton_direction(gradient, scaling, count), lambda: -scaling * gradient
        )

    def _quasi_newton_direction(self, gradient, scaling, count):
        g = tf.reshape(gradient, [-1, 1])
        h = tf.reshape(scaling, [1, -1])
        oldest_first = tf.math.floormod(self.newest - count + 1 + tf.range(count), self.memory)
        s = tf.reshape(tf.gather(self.s_history, oldest_first), [count, -1])
        y = tf.reshape(tf.gather(self.y_history, oldest_first), [count, -1])
        s_dot_y = tf.matmul(s, y, transpose_b=True)
        upper = tf.linalg.band_part(s_dot_y, 0, -1)
        diagonal = tf.linalg.diag(tf.linalg.diag_part(s_dot_y))
        gamma = s_dot_y[-1, -1] / tf.reduce_sum(h[0] * tf.square(y[-1]))
        h0_y = gamma * h * y  # Rows: H0 y_i.
        h0_g = gamma * tf.transpose(h) * g
        p = tf.linalg.triangular_solve(upper, tf.matmul(s, g), lower=False)
        middle = tf.matmul(diagonal + tf.matmul(y, h0_y, transpose_b=True), p) - tf.matmul(y, h0_g)
        top = tf.linalg.triangular_solve(upper, middle, lower=False, adjoint=True)
        h_g = h0_g + tf.matmul(s, top, transpose_a=True) - tf.matmul(h0_y, p, transpose_a=True)
        return -tf.reshape(h_g, tf.shape(gradient))

    def _start(self):
        """Direction and first step length of an iteration, at the current point."""
        x = tf.convert_to_tensor(self.variable)
        gradient = tf.convert_to_tensor(self.gradient)
        direction = self._freeze_active(x, self._direction(gradient))
        descent = tf.reduce_sum(gradient * direction) < 0.0
        # Not a descent direction: forget the history and follow the gradient.
        num_pairs = self.num_pairs.assign(tf.where(descent, self.num_pairs, 0))
        direction = tf.where(descent, direction, self._freeze_active(x, -gradient))
        # With curvature pairs, the quasi-Newton step. Without, if the last step was a gradient
        # step whose pair was rejected because the loss curved downward (s.y <= 0), that step was
        # shorter than it could be: grow it. (Repeating the cautious first step instead, a
        # style-transfer run from a photo crept along at 0.0005 per pixel for ten iterations.)
        # Otherwise a cautious first step.
        cautious = self.learning_rate * tf.minimum(1.0, 1.0 / tf.reduce_sum(tf.abs(gradient)))
        if self.min_first_change is not None:  # Decided when traced.
            largest = tf.reduce_max(tf.abs(direction))
            cautious = tf.where(largest > 0.0, tf.maximum(cautious, self.min_first_change / largest), cautious)
        gradient_step = tf.where(self.gradient_step_length > 0.0, _GROW * self.gradient_step_length, cautious)
        step_length = tf.where(num_pairs > 0, tf.constant(self.learning_rate), gradient_step)
        return direction, step_length

    def _try(self, direction, step_length):
        """Evaluates the projected trial point; returns it with its loss, gradient, aux and the Armijo verdict."""
        x = tf.convert_to_tensor(self.variable)
        trial = self._project(x + step_length * direction)
        self.evaluations.assign_add(1)
        loss, gradient, aux = self._value_and_gradient(trial)
        # Armijo on the step actually taken (projection may shorten it): f(x + s) <= f(x) + c g.s.
        # And the loss must fall: when c g.s is below the loss's rounding, f(x) + c g.s rounds to
        # f(x), and a step the loss cannot see (a bfloat16 network rounds away a change of 1e-6
        # per pixel) would pass as "accepted", again and again, and the run would never move
        # nor report the failed line search that sends it on in float32.
        decrease = _ARMIJO * tf.reduce_sum(self.gradient * (trial - x))
        accepted = tf.math.is_finite(loss) & (loss <= self.loss + decrease) & (loss < self.loss) & (decrease < 0.0)
        return trial, loss, gradient, aux, accepted

    def _accept(self, trial, loss, gradient):
        """Moves to the trial point and stores the curvature pair."""
        s = trial - self.variable
        y = gradient - self.gradient

        def store_pair():
            newest = self.newest.assign(tf.math.floormod(self.newest + 1, self.memory))
            self.s_history[newest].assign(s)
            self.y_history[newest].assign(y)
            self.num_pairs.assign(tf.minimum(self.num_pairs + 1, self.memory))
            return tf.constant(True)

        # Only pairs of positive curvature keep the approximation positive definite.
        tf.cond(tf.reduce_sum(s * y) > 1e-10, store_pair, lambda: tf.constant(False))
        self.variable.assign(trial)
        self.loss.assign(loss)
        self.gradient.assign(gradient)
        if self.scaling == "diagonal":  # Decided when traced: the scalar method keeps no running mean.
            self.squared_gradient.assign(
                _SCALING_DECAY * self.squared_gradient + (1.0 - _SCALING_DECAY) * tf.square(gradient)
            )

    def reset(self) -> None:
        """Forgets everything but the variable: the next `step` starts afresh from its value (for a
        caller that reuses one optimiser, and its compiled functions, on another problem of the
        same shape)."""
        self.num_pairs.assign(0)
        self.newest.assign(-1)
        self.iterations.assign(0)
        self.evaluations.assign(0)
        self.failed_line_searches = 0
        self.gradient_step_length.assign(0.0)
        self.loss.assign(float("inf"))
        self.gradient.assign(tf.zeros_like(self.gradient))
        self.squared_gradient.assign(tf.zeros_like(self.squared_gradient))
        self._aux = {}

    def step(self) -> tuple[tf.Tensor, dict]:
        """One iteration. Returns (loss, aux) at the variable's new value."""
        if int(self.evaluations) == 0:
            # The starting point's loss and gradient: a trial at step length 0.
            _, loss, gradient, self._aux, _ = self._try_function(tf.zeros_like(self.variable), tf.constant(0.0))
            self.loss.assign(loss)
            self.gradient.assign(gradient)
            if self.scaling == "diagonal":
                self.squared_gradient.assign(tf.square(gradient))
        direction, step_length = self._start_function()
        gradient_step = int(self.num_pairs) == 0
        for _ in range(self.max_line_search + 1):
            trial, loss, gradient, aux, accepted = self._try_function(direction, step_length)
            if bool(accepted):
                self.gradient_step_length.assign(step_length if gradient_step else 0.0)
                self._accept_function(trial, loss, gradient)
                self._aux = aux
                break
            step_length = step_length * _SHRINK
        else:
            # No acceptable step along this direction: start the history afresh, and let the next
            # gradient step go on from half the shortest length tried (starting again from the
            # cautious length would fail the same way, iteration after iteration).
            self.failed_line_searches += 1
            self.num_pairs.assign(0)
            self.gradient_step_length.assign(step_length / _GROW)
        self.iterations.assign_add(1)
        return tf.convert_to_tensor(self.loss), self._aux

    def tracing_count(self) -> int:
        """Traces of the most-traced compiled part (1 once running: each part traced once)."""
        return max(
            function.experimental_get_tracing_count()
            for function in (self._start_function, self._try_function, self._accept_function)
        )
