# SPDX-License-Identifier: Apache-2.0
# The data vAccel ships (example images, labels, models ready to register,
# preprocessing settings, inputs), laid out as upstream's
# share/vaccel/{images,labels,models,input}:
#   - copied into <build>/share/vaccel when CMake configures, so that a
#     default path computed relative to a library (../share/vaccel from
#     build/lib) resolves in the build tree as it does after install;
#   - installed to <prefix>/share/vaccel, component `data` (the vaccel-data
#     .deb).
# VACCEL_DATA_REL is that directory relative to the installed libraries
# (for plugins that look for their default files next to themselves).
set(VACCEL_DATA_BUILD_DIR ${PROJECT_BINARY_DIR}/${CMAKE_INSTALL_DATADIR}/vaccel)
file(RELATIVE_PATH VACCEL_DATA_REL ${CMAKE_INSTALL_FULL_LIBDIR}
     ${CMAKE_INSTALL_FULL_DATADIR}/vaccel)

# vaccel_data(<source> <path under share/vaccel>)
function(vaccel_data src dest)
  configure_file(${src} ${VACCEL_DATA_BUILD_DIR}/${dest} COPYONLY)
  get_filename_component(dir ${dest} DIRECTORY)
  get_filename_component(name ${dest} NAME)
  install(FILES ${src} DESTINATION ${CMAKE_INSTALL_DATADIR}/vaccel/${dir}
          RENAME ${name} COMPONENT data)
endfunction()

set(ex ${PROJECT_SOURCE_DIR}/examples/data)
set(models ${PROJECT_SOURCE_DIR}/models)
vaccel_data(${ex}/README.md README.md)
vaccel_data(${ex}/example.jpg images/example.jpg)
file(GLOB fashion_samples ${ex}/fashion/*.png)
foreach(f ${fashion_samples})
  get_filename_component(n ${f} NAME)
  vaccel_data(${f} images/fashion/${n})
endforeach()
vaccel_data(${ex}/imagenet.txt labels/imagenet.txt)
vaccel_data(${models}/fashion_mnist_labels.txt labels/fashion_mnist.txt)
vaccel_data(${ex}/input_2048.csv input/input_2048.csv)
vaccel_data(${ex}/cnn_trace.pt models/cnn_trace.pt)
vaccel_data(${ex}/lstm2.tflite models/lstm2.tflite)
# The Fashion-MNIST classifier as two resource directories, each with its
# labels and preprocessing: register the directory as one MODEL resource.
foreach(kind torch opencv)
  set(dir models/fashion_mnist/${kind})
  vaccel_data(${models}/fashion_mnist_labels.txt ${dir}/labels.txt)
  vaccel_data(${models}/fashion_mnist_${kind}.cfg ${dir}/model.cfg)
endforeach()
vaccel_data(${models}/fashion_mnist.pt models/fashion_mnist/torch/fashion_mnist.pt)
vaccel_data(${models}/fashion_mnist.onnx models/fashion_mnist/opencv/fashion_mnist.onnx)
