export { familyCandidates, HISTOGRAM_SUFFIXES, mergeFamilies, parseExposition, resolveSeries, type Family, type Sample } from "./exposition";
export { histogramDelta, histogramOf, histogramQuantile, labelValues, sumBy, sumOf, type HistogramData, type LabelMatch } from "./queries";
