"""The TensorFlow L-BFGS: convergence, and history kept between calls."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tf_style.optimization.lbfgs import LBFGS


def _quadratic(matrix, target):
    matrix = tf.constant(matrix)
    target = tf.constant(target)

    def value_and_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = 0.5 * tf.reduce_sum((x - target) * tf.linalg.matvec(matrix, x - target))
        return loss, tape.gradient(loss, x), {"loss": loss}

    return value_and_gradient


def test_minimises_ill_conditioned_quadratic():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    matrix = (basis * np.logspace(0, 3, 8)) @ basis.T  # Condition number 1000.
    target = rng.normal(size=8)
    x = tf.Variable(np.zeros(8, np.float32))
    optimizer = LBFGS(x, _quadratic(matrix.astype(np.float32), target.astype(np.float32)), memory=8)
    for _ in range(60):
        loss, aux = optimizer.step()
    np.testing.assert_allclose(x.numpy(), target, atol=1e-3)
    assert float(loss) < 1e-6
    assert set(aux) == {"loss"}


def test_rosenbrock():
    x = tf.Variable([-1.2, 1.0])

    def value_and_gradient(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            loss = 100.0 * (v[1] - v[0] ** 2) ** 2 + (1.0 - v[0]) ** 2
        return loss, tape.gradient(loss, v), {}

    optimizer = LBFGS(x, value_and_gradient)
    for _ in range(80):
        optimizer.step()
    np.testing.assert_allclose(x.numpy(), [1.0, 1.0], atol=1e-3)
    assert optimizer.tracing_count() == 1


def test_history_is_kept_between_calls_and_beats_restarting():
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    matrix = ((basis * np.logspace(0, 2, 20)) @ basis.T).astype(np.float32)
    target = rng.normal(size=20).astype(np.float32)
    function = _quadratic(matrix, target)

    kept = tf.Variable(np.zeros(20, np.float32))
    optimizer = LBFGS(kept, function, memory=10)
    for _ in range(15):
        kept_loss, _ = optimizer.step()
    assert int(optimizer.num_pairs) == 10  # Memory full: history survived the 15 separate calls.

    restarted = tf.Variable(np.zeros(20, np.float32))
    for _ in range(5):  # Same number of iterations in chunks of 3, state thrown away each time.
        fresh = LBFGS(restarted, function, memory=10)
        for _ in range(3):
            restarted_loss, _ = fresh.step()
    assert float(kept_loss) < 0.2 * float(restarted_loss)


def _two_loop_direction(pairs, gradient, scaling):
    """-H g by the textbook two-loop recursion (Nocedal & Wright, Algorithm 7.4), in NumPy,
    with H0 = gamma diag(scaling)."""
    q = gradient.astype(np.float64)
    alphas = []
    for s, y in reversed(pairs):  # Newest first.
        alpha = (s @ q) / (s @ y)
        q = q - alpha * y
        alphas.append(alpha)
    s, y = pairs[-1]
    r = scaling * q * (s @ y) / (y @ (scaling * y))
    for (s, y), alpha in zip(pairs, reversed(alphas)):  # Oldest first.
        beta = (y @ r) / (s @ y)
        r = r + s * (alpha - beta)
    return -r


@pytest.mark.parametrize("scaling", ["scalar", "diagonal"])
def test_direction_equals_the_two_loop_recursion_also_after_the_memory_wraps(scaling):
    rng = np.random.default_rng(3)
    basis, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    matrix = ((basis * np.logspace(0, 2, 30)) @ basis.T).astype(np.float32)
    function = _quadratic(matrix, rng.normal(size=30).astype(np.float32))
    x = tf.Variable(np.zeros(30, np.float32))
    optimizer = LBFGS(x, function, memory=4, scaling=scaling)
    gradient = rng.normal(size=30).astype(np.float32)
    if scaling == "scalar":
        assert np.array_equal(optimizer._direction(tf.constant(gradient)).numpy(), -gradient)  # No pairs yet.
    for iteration in range(7):  # Past the memory of 4: the ring buffer wraps.
        optimizer.step()
        count, newest = int(optimizer.num_pairs), int(optimizer.newest)
        order = [(newest - count + 1 + k) % 4 for k in range(count)]
        pairs = [
            (optimizer.s_history[i].numpy().astype(np.float64), optimizer.y_history[i].numpy().astype(np.float64))
            for i in order
        ]
        h = optimizer._initial_scaling().numpy().astype(np.float64)
        expected = _two_loop_direction(pairs, gradient, h)
        got = optimizer._direction(tf.constant(gradient)).numpy()
        assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max(), iteration
    assert count == 4


def test_rejects_non_finite_trial_points():
    x = tf.Variable([2.0])

    def value_and_gradient(v):  # log barrier: NaN for v <= 0, minimum at v = 1.
        with tf.GradientTape() as tape:
            tape.watch(v)
            loss = tf.reduce_sum(v - tf.math.log(v)) * 50.0
        return loss, tape.gradient(loss, v), {}

    optimizer = LBFGS(x, value_and_gradient, learning_rate=10.0)
    for _ in range(30):
        loss, _ = optimizer.step()
        assert np.isfinite(float(loss))
    assert x.numpy()[0] == pytest.approx(1.0, abs=1e-3)


def test_bounds_keep_every_iterate_in_the_box_and_find_the_constrained_minimum():
    rng = np.random.default_rng(2)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    matrix = ((basis * np.logspace(0, 1, 6)) @ basis.T).astype(np.float32)
    target = np.array([1.5, -0.5, 0.3, 0.7, 2.0, 0.5], np.float32)  # Partly outside [0, 1].
    x = tf.Variable(np.full(6, 0.5, np.float32))
    optimizer = LBFGS(x, _quadratic(matrix, target), bounds=(0.0, 1.0))
    losses = []
    for _ in range(100):
        loss, _ = optimizer.step()
        losses.append(float(loss))
        assert x.numpy().min() >= 0.0 and x.numpy().max() <= 1.0
    assert all(later <= earlier + 1e-7 for earlier, later in itertools.pairwise(losses))  # Monotone.
    # Optimality in a box (KKT): where x is strictly inside, the gradient is ~0; on an edge it
    # points outward (could only be lowered by leaving the box).
    gradient = matrix @ (x.numpy() - target)
    inside = (x.numpy() > 1e-4) & (x.numpy() < 1 - 1e-4)
    assert np.abs(gradient[inside]).max(initial=0.0) < 1e-3
    assert (gradient[x.numpy() <= 1e-4] >= -1e-3).all() and (gradient[x.numpy() >= 1 - 1e-4] <= 1e-3).all()
    assert (~inside).any()  # The minimum does sit on the box's edge.


def test_failed_line_search_keeps_the_point_and_reports_its_losses():
    x = tf.Variable([2.0, 1.0])

    def value_and_gradient(v):  # Finite only at the start: every trial point fails.
        at_start = tf.reduce_all(tf.equal(v, [2.0, 1.0]))
        loss = tf.where(at_start, tf.reduce_sum(v**2), float("nan"))
        return loss, 2.0 * v, {"loss": loss}

    optimizer = LBFGS(x, value_and_gradient, max_line_search=3)
    loss, aux = optimizer.step()
    assert float(loss) == pytest.approx(5.0) and float(aux["loss"]) == pytest.approx(5.0)
    np.testing.assert_array_equal(x.numpy(), [2.0, 1.0])
    assert int(optimizer.evaluations) == 1 + 4  # The start, then the first trial and 3 halvings.
    assert int(optimizer.num_pairs) == 0
    assert optimizer.failed_line_searches == 1


def _loss_seen_in_bfloat16(v):
    """sum((v - 0.3)^2) as a bfloat16 network sees v (rounded to 8 significant bits); the gradient is exact."""
    seen = tf.cast(tf.cast(v, tf.bfloat16), tf.float32)
    return tf.reduce_sum(tf.square(seen - 0.3)), 2.0 * (v - 0.3), {}


def test_a_step_the_loss_cannot_see_is_a_failed_line_search_not_an_accepted_one():
    # As a bfloat16 network sees a picture: the loss reads x rounded to 8 significant bits,
    # the gradient is exact. The first, cautious step moves each component by about 1e-4,
    # which the rounding hides, so every trial has the start's loss. Accepting such a step
    # (its Armijo margin below the loss's own rounding) left a run at its start for 100 steps
    # without ever reporting the failure that sends it on in float32.
    x = tf.Variable(tf.fill([10_000], 0.5))
    optimizer = LBFGS(x, _loss_seen_in_bfloat16)
    for _ in range(3):
        loss, _ = optimizer.step()
        assert float(loss) == pytest.approx(400.0, rel=1e-6)
    assert optimizer.failed_line_searches == 3
    np.testing.assert_array_equal(x.numpy(), np.full(10_000, 0.5, np.float32))


def test_min_first_change_makes_the_first_step_one_the_loss_can_see():
    # The same bfloat16-rounded loss: with the first step lengthened until its largest change is
    # 1/255 (one level of an 8-bit picture), the loss sees it, the line search accepts it, and
    # its curvature pair leads to the minimum.
    x = tf.Variable(tf.fill([10_000], 0.5))
    optimizer = LBFGS(x, _loss_seen_in_bfloat16, min_first_change=1.0 / 255.0)
    loss, _ = optimizer.step()
    assert optimizer.failed_line_searches == 0
    np.testing.assert_allclose(x.numpy(), np.full(10_000, 0.5 - 1.0 / 255.0), atol=1e-6)
    assert float(loss) < 400.0
    loss, _ = optimizer.step()  # The quasi-Newton step from that pair: to the minimum, as bfloat16 sees it.
    assert optimizer.failed_line_searches == 0 and float(loss) < 0.01


def test_min_first_change_leaves_a_first_step_that_is_long_enough_alone():
    # A gradient concentrated on one component: the textbook step already changes it by 1,
    # more than the floor, so the step is the textbook one.
    def value_and_gradient(v):
        return tf.reduce_sum(tf.square(v)), 2.0 * v, {}

    x = tf.Variable([1.0, 0.0, 0.0])
    optimizer = LBFGS(x, value_and_gradient, min_first_change=0.01)
    optimizer.step()
    np.testing.assert_allclose(x.numpy(), [0.0, 0.0, 0.0], atol=1e-6)


def test_after_a_failed_line_search_the_next_one_starts_shorter():
    # The first step is one unit per component whatever the gradient's size: for a minimum
    # 1e-5 away it overshoots beyond what 3 halvings repair. Repeating the same step lengths
    # would fail for ever; going on from the shortest one tried reaches the minimum.
    def value_and_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(x))
        return loss, tape.gradient(loss, x), {}

    x = tf.Variable([1e-5])
    optimizer = LBFGS(x, value_and_gradient, max_line_search=3)
    for _ in range(5):
        optimizer.step()
    assert optimizer.failed_line_searches >= 1
    assert abs(float(x.numpy()[0])) < 1e-6


def test_gradient_steps_grow_while_the_loss_curves_downward():
    # f = sum(-x^2 + x^4 / 4) is concave near 0, so the first curvature pairs have s.y < 0 and
    # are rejected; the steps must still grow, or the method creeps (0.01 per iteration here).
    def value_and_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(-tf.square(x) + x**4 / 4.0)
        return loss, tape.gradient(loss, x), {}

    x = tf.Variable(np.full(100, 0.01, np.float32))
    optimizer = LBFGS(x, value_and_gradient)
    for _ in range(10):
        optimizer.step()
    np.testing.assert_allclose(x.numpy(), np.sqrt(2.0), atol=1e-3)


def test_diagonal_scaling_follows_the_squared_gradients():
    x = tf.Variable(np.array([1.0, 1.0, 1.0, 1.0], np.float32))
    weights = tf.constant([1.0, 10.0, 100.0, 1000.0])

    def value_and_gradient(v):
        return tf.reduce_sum(weights * v**2), 2.0 * weights * v, {}

    optimizer = LBFGS(x, value_and_gradient, scaling="diagonal")
    optimizer.step()
    # The first gradient (2, 20, 200, 2000) sets the running mean of squares; its roots r give
    # h proportional to 1 / (r + 0.1 mean(r)), scaled to mean 1.
    root = np.array([2.0, 20.0, 200.0, 2000.0])
    h = 1.0 / (root + 0.1 * root.mean())
    h /= h.mean()
    # After the first step the running mean is half the old squares, half the new.
    gradient = 2.0 * np.array([1.0, 10.0, 100.0, 1000.0]) * x.numpy()
    np.testing.assert_allclose(optimizer.squared_gradient.numpy(), 0.5 * root**2 + 0.5 * gradient**2, rtol=1e-5)
    optimizer.squared_gradient.assign(root**2)
    np.testing.assert_allclose(optimizer._initial_scaling().numpy(), h, rtol=1e-5)
    optimizer.num_pairs.assign(0)
    np.testing.assert_allclose(optimizer._direction(tf.constant(root, tf.float32)).numpy(), -h * root, rtol=1e-5)


def test_diagonal_scaling_beats_scalar_on_a_badly_scaled_problem():
    # Curvatures from 1 to 10^4 along the axes: one step size cannot suit every component.
    rng = np.random.default_rng(0)
    curvature = np.logspace(0, 4, 200).astype(np.float32)
    rng.shuffle(curvature)
    target = rng.uniform(0.2, 0.8, 200).astype(np.float32)

    def value_and_gradient(v):
        return tf.reduce_sum(curvature * (v - target) ** 2), 2.0 * curvature * (v - target), {}

    final = {}
    for scaling in ("scalar", "diagonal"):
        x = tf.Variable(np.zeros(200, np.float32))
        optimizer = LBFGS(x, value_and_gradient, memory=5, scaling=scaling)
        for _ in range(15):
            loss, _ = optimizer.step()
        final[scaling] = float(loss)
    assert final["diagonal"] < 0.05 * final["scalar"], final


def test_rejects_an_unknown_scaling():
    with pytest.raises(ValueError, match="scaling must be one of diagonal, scalar, got 'identity'"):
        LBFGS(tf.Variable([1.0]), lambda v: (v, v, {}), scaling="identity")
