package dev.aded.examples.report;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;

/**
 * One hand-drawn chart: a plot area whose y axis runs from 0 to a rounded-up maximum, with grid lines, axis titles
 * and a legend. Callers place bars, lines and x labels in SVG units; {@link #y} maps values. Text is escaped here.
 */
final class Svg {
    static final double WIDTH = 760;
    static final double HEIGHT = 320;
    static final double LEFT = 64;
    static final double RIGHT = WIDTH - 20;
    static final double TOP = 40;
    static final double BOTTOM = HEIGHT - 48;
    private static final int Y_TICKS = 5;

    private final StringBuilder out = new StringBuilder();
    private final double yMax;

    /** Draws the frame: title, horizontal grid with y labels, and both axis titles. */
    Svg(String title, String xTitle, String yTitle, double dataMax) {
        yMax = niceCeiling(dataMax);
        out.append(String.format(Locale.ROOT, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">%n",
                WIDTH, HEIGHT, escape(title)));
        text(LEFT, 20, title, "title", "start");
        for (int i = 0; i <= Y_TICKS; i++) {
            double v = yMax * i / Y_TICKS;
            out.append(String.format(Locale.ROOT, "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\""
                    + " y2=\"%.2f\"/>%n", LEFT, y(v), RIGHT, y(v)));
            text(LEFT - 6, y(v) + 4, number(v), "tick", "end");
        }
        text((LEFT + RIGHT) / 2, HEIGHT - 8, xTitle, "axis", "middle");
        out.append(String.format(Locale.ROOT, "<text class=\"axis\" text-anchor=\"middle\" transform=\"translate(16"
                + " %.2f) rotate(-90)\">%s</text>%n", (TOP + BOTTOM) / 2, escape(yTitle)));
    }

    /** The SVG y coordinate of {@code value} on this chart's axis. */
    double y(double value) {
        return BOTTOM - (BOTTOM - TOP) * value / yMax;
    }

    /** A bar from the x axis up to {@code value}, with a hover tooltip (SVG's own title element, no script). */
    void bar(double x, double width, double value, String color, String tooltip) {
        out.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\""
                + " height=\"%.2f\" fill=\"%s\"><title>%s</title></rect>%n", x, y(value), width, BOTTOM - y(value),
                color, escape(tooltip)));
    }

    /** A line through {@code values}, the i-th at x = {@code x0 + i * dx}. */
    void line(double[] values, double x0, double dx, String color) {
        StringBuilder points = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            points.append(String.format(Locale.ROOT, "%s%.2f,%.2f", i == 0 ? "" : " ", x0 + i * dx, y(values[i])));
        }
        out.append(String.format(Locale.ROOT, "<polyline class=\"line\" stroke=\"%s\" points=\"%s\"/>%n", color,
                points));
    }

    /** A label under the x axis, centred on {@code x}. */
    void xLabel(double x, String label) {
        text(x, BOTTOM + 16, label, "tick", "middle");
    }

    /** A label just above the top of a bar. */
    void valueLabel(double x, double value, String label) {
        text(x, y(value) - 5, label, "value", "middle");
    }

    /** Colour swatches with names, in a row at the top right. */
    void legend(List<String> names, List<String> colors) {
        double x = RIGHT - 90.0 * names.size();
        for (int i = 0; i < names.size(); i++, x += 90) {
            out.append(String.format(Locale.ROOT, "<rect x=\"%.2f\" y=\"10\" width=\"12\" height=\"12\""
                    + " fill=\"%s\"/>%n", x, colors.get(i)));
            text(x + 17, 20, names.get(i), "legend", "start");
        }
    }

    @Override
    public String toString() {
        return out + String.format(Locale.ROOT, "<line class=\"axisline\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\""
                + " y2=\"%.2f\"/>%n</svg>%n", LEFT, BOTTOM, RIGHT, BOTTOM);
    }

    private void text(double x, double y, String s, String cssClass, String anchor) {
        out.append(String.format(Locale.ROOT, "<text class=\"%s\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">%s"
                + "</text>%n", cssClass, x, y, anchor, escape(s)));
    }

    /** The smallest 1, 2, 2.5 or 5 times a power of ten at or above {@code v}, so ticks fall on round numbers. */
    static double niceCeiling(double v) {
        if (!(v > 0)) {
            return 1;
        }
        double power = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5}) {
            if (m * power >= v) {
                return m * power;
            }
        }
        return 10 * power;
    }

    /** A tick value without needless digits: 40, 0.5, 2.25. */
    static String number(double v) {
        return BigDecimal.valueOf(v).setScale(2, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
    }

    /** Escapes text for HTML and SVG alike, element content and quoted attributes. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}
